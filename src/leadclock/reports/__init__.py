"""Measurement: compliance and the files replay writes."""
