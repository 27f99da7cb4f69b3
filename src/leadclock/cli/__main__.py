"""`python -m leadclock.cli ...`: the same as the `leadclock` command."""

from leadclock.cli.main import app

if __name__ == "__main__":
    app()
