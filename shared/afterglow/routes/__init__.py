"""The admin function's HTTP routes, one `APIRouter` per resource: retailers, partners, offers,
keys (API keys and webhook secrets), audit, catalog import and the OpenAPI document.

`functions/admin/app.py` includes them all in one Lambda. Each route parses, checks the caller
(`Principal.require_*`), calls one use case in `afterglow.services` and returns its output model.
"""
