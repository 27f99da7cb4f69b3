"""The dashboard's routes, one module per concern (sign-in, live view, leads, breaches, reports,
policy). Each module has a `router`; `leadclock.web.app` includes them all."""
