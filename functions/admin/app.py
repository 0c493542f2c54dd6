"""admin: retailers, partners, offers, keys, audit and catalog import (secret keys; platform,
retailer or partner scope), and the API document.

One Lambda, one `APIRouter` per resource (`afterglow.routes`); this module only assembles them.
"""

from afterglow.api import create_app, lambda_handler_for
from afterglow.routes import audit, catalog_import, keys, offers, openapi, partners, retailers
from afterglow.routes.catalog_import import IMPORT_PATH, MAX_IMPORT_BYTES

app = create_app(
    "Afterglow admin",
    "Catalog and rules administration for operators and retailers.",
    larger_bodies={IMPORT_PATH: MAX_IMPORT_BYTES},
)
for resource in (openapi, retailers, partners, offers, keys, audit, catalog_import):
    app.include_router(resource.router)

lambda_handler = lambda_handler_for(app)
