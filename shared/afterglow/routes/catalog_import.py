"""`POST /v1/admin/catalog/import`: a JSONL catalog of partners and offers, checked whole first."""

from typing import Annotated

from fastapi import APIRouter, Body

from afterglow.errors import InvalidInput
from afterglow.models import CatalogImportResult
from afterglow.routes.access import Caller, StoresDep

IMPORT_PATH = "/v1/admin/catalog/import"
MAX_IMPORT_BYTES = 5 * 1024 * 1024  # under Lambda's 6 MB payload; larger files: `afterglow catalog import`

router = APIRouter()


@router.post(
    IMPORT_PATH,
    response_model=CatalogImportResult,
    tags=["admin"],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string", "description": "JSONL catalog"}}
            },
        }
    },
)
async def import_catalog_file(
    caller: Caller, stores: StoresDep, body: Annotated[bytes, Body(media_type="application/x-ndjson")]
) -> CatalogImportResult:
    """Import a JSONL catalog (one partner or offer per line, as `afterglow catalog generate`
    writes; up to 5 MB) with the platform key. Every line is checked first: any bad line → 422
    listing each one with its line number, and nothing is written. Importing the same file
    again changes nothing."""
    # Imported here: the import's checks are only needed by this route, not by every admin call.
    from afterglow.services.catalog_import import import_catalog

    caller.require_platform()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the catalog file is not UTF-8 (byte {error.start})", field="body") from error
    report = import_catalog(stores, text.splitlines())  # bad lines: CatalogFileInvalid, a 422
    return report.result()
