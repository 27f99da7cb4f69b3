"""leadclock: lead-handling SLAs enforced in business time, with the written agreement rendered from the same policy."""

__version__ = "0.1.0"
