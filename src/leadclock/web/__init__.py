"""The dashboard (F20-F26 views): server-rendered pages with sign-in for people.

`mount_dashboard(app)` puts it in front of the JSON API created by `api.app.create_app`, under
`/ui/` (and `/` redirects there). Pages are Jinja2 templates; htmx (polling, in-place forms) and
uPlot (charts) are shipped in `static/vendor/`, so nothing is loaded from the internet.
"""

from leadclock.web.app import mount_dashboard

__all__ = ["mount_dashboard"]
