"""Retailers, partners and offers as services read and change them, whatever the kind: read one
(404), page through a kind, create one, and apply a partial update at the version the caller read.

Every change to a retailer, partner or offer is an optimistic-concurrency write (409 on a stale
version) that bumps the catalog version, followed by publishing the catalog snapshot of the new
version for `decide`. Keys and webhook secrets are not part of the catalog a decision reads: they
change without a new version (`afterglow.services.keys`, `afterglow.services.webhook_secrets`).
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from afterglow.errors import Conflict, InvalidInput, NotFound, validation_error
from afterglow.models import Offer, Partner, Patch, Retailer, StatusUpdate
from afterglow.services.snapshots import publish_after_change
from afterglow.store import CatalogStore
from afterglow.store.catalog import VersionConflict
from afterglow.store.entities import KIND, Entity, EntityKind, entity_from_item, offer_of

# Which part of the published snapshot a change of each kind lands in.
_SNAPSHOT_PART: dict[EntityKind, str] = {"RETAILER": "retailers", "PARTNER": "partners", "OFFER": "offers"}
PATCH_TRIES = 3


def now() -> datetime:
    """When a change is made (UTC)."""
    return datetime.now(UTC)


def stored_item(
    catalog: CatalogStore, kind: EntityKind, entity_id: str, *, field: str | None = None
) -> dict[str, Any]:
    """An entity's stored item: 404 if there is none or, when the caller named it in a body,
    422 naming that `field`."""
    item = catalog.get(kind, entity_id)
    if item is None:
        if field:
            raise InvalidInput(f"no {kind.lower()} {entity_id!r}", field=field)
        raise NotFound(f"no {kind.lower()} {entity_id!r}")
    return item


def load(catalog: CatalogStore, model: type[Entity], entity_id: str, *, field: str | None = None) -> Entity:
    """One retailer, partner or offer (404, or 422 naming `field`, if there is none)."""
    return entity_from_item(model, stored_item(catalog, KIND[model], entity_id, field=field))


def load_retailer(catalog: CatalogStore, retailer_id: str) -> Retailer:
    """A retailer's profile and rules (salt included, for hashing its customers)."""
    return load(catalog, Retailer, retailer_id)


def load_partner(catalog: CatalogStore, partner_id: str, *, field: str | None = None) -> Partner:
    """A partner's profile (no secrets)."""
    return load(catalog, Partner, partner_id, field=field)


def load_offer(catalog: CatalogStore, offer_id: str) -> Offer:
    """One offer."""
    return load(catalog, Offer, offer_id)


def page(
    catalog: CatalogStore, model: type[Entity], *, cursor: str | None, limit: int
) -> tuple[list[Entity], str | None]:
    """A page of retailers, partners or offers, in id order."""
    items, next_cursor = _paged(lambda: catalog.page(KIND[model], cursor=cursor, limit=limit))
    return [entity_from_item(model, item) for item in items], next_cursor


def page_owned_offers(
    catalog: CatalogStore, owner: str, *, cursor: str | None, limit: int
) -> tuple[list[Offer], str | None]:
    """A page of the offers one partner, or one retailer (its first-party offers), owns."""
    items, next_cursor = _paged(lambda: catalog.page_owned(owner, "OFFER", cursor=cursor, limit=limit))
    return [offer_of(item) for item in items], next_cursor


def _paged(
    read: Callable[[], tuple[list[dict[str, Any]], str | None]],
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return read()
    except ValueError as error:  # a cursor that is not one of ours
        raise InvalidInput(str(error), field="cursor") from error


def create(
    catalog: CatalogStore,
    kind: EntityKind,
    entity_id: str,
    item: dict[str, Any],
    *,
    keys: Sequence[dict[str, Any]] = (),
) -> None:
    """Store a new entity (its stored `item`, with the key records minted with it, in one
    transaction) and publish the snapshot that includes it."""
    before = catalog.version()
    catalog.create(kind, entity_id, item, keys=list(keys))
    _publish(catalog, before, kind, item)


def patch(
    catalog: CatalogStore,
    model: type[Entity],
    entity_id: str,
    update: Patch,
    *,
    check: Callable[[Entity], None] | None = None,
    full_publish: bool = False,
) -> Entity:
    """Apply a partial update at the version the caller read and return the entity as written:
    409 if the item is at another version or changes meanwhile; 422 naming the field if the
    result is not valid as a whole (e.g. a targeting range whose new minimum exceeds the old
    maximum). `check` refuses a result that is valid but not allowed (it raises)."""
    kind = KIND[model]
    for _ in range(PATCH_TRIES):
        stored = stored_item(catalog, kind, entity_id)
        version = int(stored.get("version", 1))
        if version != update.version:
            raise Conflict(f"{kind.lower()} {entity_id} is at version {version}, not {update.version}")
        # The whole stored item goes back, with what the entity does not name (a partner's
        # webhook secrets, an import's fingerprint) as it was read.
        item = {**stored, **update.changes(), "version": version + 1}
        try:
            changed = entity_from_item(model, item)
        except ValidationError as error:
            raise validation_error(error) from error
        if check:
            check(changed)
        before = catalog.version()
        try:
            catalog.replace(kind, entity_id, item, expected_version=version)
        except VersionConflict:
            # Someone else's version (the check above answers 409 on the next read), or a
            # rotation of the partner's webhook secrets since our read: apply the change again
            # on top of it rather than write back the secrets we read.
            continue
        _publish(catalog, before, kind, item, full=full_publish)
        return changed
    raise Conflict(f"{kind.lower()} {entity_id} was changed by someone else; reload and retry")


class _StatusChange(Patch):
    status: str | None = None


def change_status(
    catalog: CatalogStore,
    model: type[Entity],
    entity_id: str,
    update: StatusUpdate,
    *,
    full_publish: bool = False,
) -> Entity:
    """Pause or resume a retailer, partner or offer; 409 if it changed meanwhile."""
    change = _StatusChange(version=update.version, status=update.status)
    return patch(catalog, model, entity_id, change, full_publish=full_publish)


def _publish(
    catalog: CatalogStore, before: int, kind: EntityKind, item: dict[str, Any], *, full: bool = False
) -> None:
    publish_after_change(catalog, before, full=full, **{_SNAPSHOT_PART[kind]: [item]})
