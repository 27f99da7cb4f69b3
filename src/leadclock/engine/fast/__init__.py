"""The columnar replay's parts: parse (read and validate), machine (core.py's handlers on all
leads at once), report (files and summary). The public entry point is engine/columnar.py."""
