"""The API's routers, one module per domain (events, leads, breaches, reps, policies, ...)."""
