"""Catalog administration: retailers, partners, offers, their keys and secrets.

Every change to a retailer, partner or offer is an optimistic-concurrency write (409 on a stale
version) that bumps the catalog version, followed by publishing the catalog snapshot of the new
version for `decide`. Keys and webhook secrets are not part of the catalog a decision reads: they
change without a new version.
"""

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from afterglow.errors import Conflict, Forbidden, InvalidInput, NotFound, validation_error
from afterglow.models import (
    ApiKey,
    ApiKeyCreated,
    AuditSuppression,
    FirstPartyOfferCreate,
    FixedPayout,
    Offer,
    OfferCreate,
    OfferUpdate,
    Partner,
    PartnerCreate,
    PartnerCreated,
    PartnerUpdate,
    Patch,
    Retailer,
    RetailerCreate,
    RetailerCreated,
    RetailerUpdate,
    RulesUpdate,
    StatusUpdate,
    WebhookSecret,
    WebhookSecretCreated,
    views,
)
from afterglow.services.auth import forget_key
from afterglow.services.snapshots import publish_after_change
from afterglow.signing import hash_key, new_api_key, new_id, new_webhook_secret, webhook_secret_id
from afterglow.store import CatalogStore
from afterglow.store.catalog import VersionConflict
from afterglow.store.entities import (
    entity_from_item,
    offer_item,
    offer_of,
    partner_item,
    partner_of,
    retailer_item,
    retailer_of,
    webhook_secrets_of,
)

MAX_WEBHOOK_SECRETS = 5
Entity = TypeVar("Entity", Retailer, Partner, Offer)


def _now() -> datetime:
    return datetime.now(UTC)


def _publish(
    catalog: CatalogStore, before: int, entity: str, body: dict[str, Any], *, full: bool = False
) -> None:
    written = {"RETAILER": "retailers", "PARTNER": "partners", "OFFER": "offers"}[entity]
    publish_after_change(catalog, before, full=full, **{written: [body]})


# --- API keys -------------------------------------------------------------------------------------


def _key_record(
    key: str, kind: str, scope: str, retailer_id: str | None, partner_id: str | None = None
) -> dict[str, Any]:
    return {
        "key_id": new_id("key"),
        "key_hash": hash_key(key),
        "hint": key[-4:],
        "key_kind": kind,
        "scope": scope,
        "retailer_id": retailer_id,
        "partner_id": partner_id,
        "status": "active",
        "created_at": _now().isoformat(),
    }


def _key_view(record: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=record["key_id"],
        kind=record["key_kind"],
        status=record["status"],
        hint=record.get("hint", ""),
        created_at=record["created_at"],
        revoked_at=record.get("revoked_at"),
    )


def create_platform_key(catalog: CatalogStore) -> str:
    """A new platform-scoped secret key (the operator's bootstrap credential); shown once."""
    return create_platform_key_record(catalog).api_key


def _issue_key(
    catalog: CatalogStore,
    kind: str,
    scope: str,
    *,
    retailer_id: str | None = None,
    partner_id: str | None = None,
) -> ApiKeyCreated:
    """A new random key, stored as its hash; the key itself is in this answer only."""
    key = new_api_key("pk" if kind == "publishable" else "sk")
    record = _key_record(key, kind, scope, retailer_id, partner_id)
    catalog.put_key(record)
    return ApiKeyCreated(key=_key_view(record), api_key=key)


def create_platform_key_record(catalog: CatalogStore) -> ApiKeyCreated:
    """A new platform-scoped secret key and its listing; the key is shown once."""
    return _issue_key(catalog, "secret", "platform")


def create_retailer_key(catalog: CatalogStore, retailer_id: str, kind: str) -> ApiKeyCreated:
    """Another publishable or secret key for a retailer (rotation: the old keys stay valid until
    revoked); the key is in this answer only, the table holds its hash."""
    load_retailer(catalog, retailer_id)
    return _issue_key(catalog, kind, "retailer", retailer_id=retailer_id)


def create_partner_key(catalog: CatalogStore, partner_id: str) -> ApiKeyCreated:
    """A secret key for a partner brand's own back office: it reads that partner's profile, offers
    and webhook delivery log, and nothing else. Shown once; the table keeps its hash."""
    load_partner(catalog, partner_id)
    return _issue_key(catalog, "secret", "partner", partner_id=partner_id)


def list_keys(catalog: CatalogStore, owner: str) -> list[ApiKey]:
    """An owner's keys (a retailer or partner id, `PLATFORM` for platform keys), active and
    revoked, without the keys: the first 100."""
    return [_key_view(item) for item in catalog.page_owned(owner, "KEY", cursor=None, limit=100)[0]]


def revoke_key(catalog: CatalogStore, owner: str, key_id: str) -> ApiKey:
    """Revoke one of an owner's keys; revoking it again changes nothing. Warm functions cache
    keys for up to a minute, so a revoked key stops working within a minute everywhere."""
    record = catalog.find_owned_key(owner, key_id)
    if record is None:
        raise NotFound(f"no key {key_id!r}")
    revoked = catalog.revoke_key(record["key_hash"], _now().isoformat())
    forget_key(record["key_hash"])
    return _key_view(revoked)


# --- retailers ------------------------------------------------------------------------------------


def create_retailer(catalog: CatalogStore, request: RetailerCreate) -> RetailerCreated:
    """A retailer with a fresh publishable and secret key, written in one transaction."""
    retailer = Retailer(
        retailer_id=new_id("ret"),
        created_at=_now(),
        salt=secrets.token_hex(16),
        **request.model_dump(mode="json"),
    )
    publishable, secret = new_api_key("pk"), new_api_key("sk")
    body = retailer_item(retailer)
    before = catalog.version()
    catalog.create(
        "RETAILER",
        retailer.retailer_id,
        body,
        keys=[
            _key_record(publishable, "publishable", "retailer", retailer.retailer_id),
            _key_record(secret, "secret", "retailer", retailer.retailer_id),
        ],
    )
    _publish(catalog, before, "RETAILER", body)
    return RetailerCreated(
        retailer=views.Retailer.of(retailer), publishable_key=publishable, secret_key=secret
    )


def update_retailer(
    catalog: CatalogStore, retailer_id: str, update: RetailerUpdate, *, platform: bool
) -> views.Retailer:
    """Change a retailer's settings; `name` and `revenue_share_bps` need the platform key."""
    commercial = sorted(update.changes().keys() & RetailerUpdate.PLATFORM_ONLY)
    if commercial and not platform:
        raise Forbidden(
            f"{commercial[0]} is a commercial term: only the platform can change it", field=commercial[0]
        )
    return views.Retailer.of(_patch(catalog, "RETAILER", retailer_id, update, Retailer))


def update_rules(catalog: CatalogStore, retailer_id: str, update: RulesUpdate) -> views.Retailer:
    """Replace a retailer's rules, refusing (409) if it changed since `update.version`."""
    return update_retailer(
        catalog,
        retailer_id,
        RetailerUpdate(version=update.version, rules=update.rules),
        platform=False,
    )


def suppress_for_category(
    catalog: CatalogStore, retailer_id: str, suppression: AuditSuppression
) -> views.Retailer:
    """A reviewer's "irrelevant after this purchase": add the suppression (retrying lost races).

    Another retailer's own-brand offer is "not found", exactly like an unknown id: no oracle.
    """
    offer = load_offer(catalog, suppression.offer_id)
    if offer.kind == "first_party" and offer.partner_id != retailer_id:
        raise NotFound(f"no offer {suppression.offer_id!r}")
    for _ in range(3):
        current = load_retailer(catalog, retailer_id)
        if suppression in current.rules.audit_suppressions:
            return views.Retailer.of(current)
        rules = current.rules.model_copy(
            update={"audit_suppressions": [*current.rules.audit_suppressions, suppression]}
        )
        try:
            return update_rules(catalog, retailer_id, RulesUpdate(version=current.version, rules=rules))
        except Conflict:
            continue
    raise Conflict("the retailer keeps changing; retry")


# --- partners -------------------------------------------------------------------------------------


def create_partner(catalog: CatalogStore, request: PartnerCreate) -> PartnerCreated:
    """A partner with its first webhook signing secret."""
    partner = Partner(partner_id=new_id("par"), created_at=_now(), **request.model_dump(mode="json"))
    secret = new_webhook_secret()
    body = partner_item(partner, webhook_secrets=[secret])
    before = catalog.version()
    catalog.create("PARTNER", partner.partner_id, body)
    _publish(catalog, before, "PARTNER", body)
    return PartnerCreated(
        partner=views.Partner.of(partner), webhook_secret=secret, secret_id=webhook_secret_id(secret)
    )


def update_partner(catalog: CatalogStore, partner_id: str, update: PartnerUpdate) -> views.Partner:
    """Change a partner's profile, default windows or budget (409 on a stale version)."""
    return views.Partner.of(_patch(catalog, "PARTNER", partner_id, update, Partner))


def partner_webhook_secrets(catalog: CatalogStore, partner_id: str) -> list[str]:
    """Every currently valid webhook secret of a partner (several during rotation); [] if unknown."""
    return webhook_secrets_of(catalog.get("PARTNER", partner_id))


def list_webhook_secrets(catalog: CatalogStore, partner_id: str) -> list[WebhookSecret]:
    """A partner's valid webhook secrets, by id and hint only."""
    stored = _load(catalog, "PARTNER", partner_id, None)
    return [WebhookSecret(secret_id=webhook_secret_id(s), hint=s[-4:]) for s in webhook_secrets_of(stored)]


def add_webhook_secret(catalog: CatalogStore, partner_id: str) -> WebhookSecretCreated:
    """Rotation, step one: a new secret valid alongside the current ones (at most five)."""
    secret = new_webhook_secret()

    def add(current: list[str]) -> list[str]:
        if len(current) >= MAX_WEBHOOK_SECRETS:
            raise Conflict(f"a partner has at most {MAX_WEBHOOK_SECRETS} secrets; remove an old one first")
        return [*current, secret]

    _change_secrets(catalog, partner_id, add)
    return WebhookSecretCreated(secret_id=webhook_secret_id(secret), webhook_secret=secret)


def remove_webhook_secret(catalog: CatalogStore, partner_id: str, secret_id: str) -> list[WebhookSecret]:
    """Rotation, step two: the old secret stops verifying (within a minute on warm functions).
    The last secret cannot be removed: the partner could no longer report anything."""

    def remove(current: list[str]) -> list[str]:
        kept = [s for s in current if webhook_secret_id(s) != secret_id]
        if len(kept) == len(current):
            raise NotFound(f"no webhook secret {secret_id!r}")
        if not kept:
            raise Conflict("this is the partner's only secret; add its successor first")
        return kept

    _change_secrets(catalog, partner_id, remove)
    return list_webhook_secrets(catalog, partner_id)


def _change_secrets(catalog: CatalogStore, partner_id: str, change: Callable[[list[str]], list[str]]) -> None:
    for _ in range(3):  # another rotation at the same moment: read again and retry
        current = webhook_secrets_of(_load(catalog, "PARTNER", partner_id, None))
        if catalog.swap_webhook_secrets(partner_id, current, change(current)):
            return
    raise Conflict("the partner's secrets keep changing; retry")


# --- offers ---------------------------------------------------------------------------------------


def _check_payout_currency(offer: Offer, currency: str | None, whose: str) -> None:
    if currency and isinstance(offer.payout, FixedPayout) and offer.payout.currency != currency:
        raise InvalidInput(
            f"currency mismatch: payout is in {offer.payout.currency}, {whose} is billed in {currency}",
            field="payout.currency",
        )


def create_offer(catalog: CatalogStore, request: OfferCreate) -> views.Offer:
    """A partner offer; window and lock period default to the partner's."""
    partner = load_partner(catalog, request.partner_id, field="partner_id")
    fields = request.model_dump(mode="json")
    fields["attribution_window_days"] = (
        request.attribution_window_days or partner.default_attribution_window_days
    )
    fields["lock_days"] = request.lock_days if request.lock_days is not None else partner.default_lock_days
    offer = Offer(offer_id=new_id("off"), created_at=_now(), **fields)
    _check_payout_currency(offer, partner.budget.currency if partner.budget else None, "the partner")
    return _create_offer(catalog, offer)


def create_first_party_offer(
    catalog: CatalogStore, retailer_id: str, request: FirstPartyOfferCreate
) -> views.Offer:
    """One of the retailer's own products ("add to order"): the owner is the retailer, and the
    rules show it on that retailer's pages only. Its payout is in the retailer's currency."""
    retailer = load_retailer(catalog, retailer_id)
    fields = request.model_dump(mode="json")
    fields.update(partner_id=retailer_id, kind="first_party")
    fields["attribution_window_days"] = request.attribution_window_days or 1
    fields["lock_days"] = request.lock_days if request.lock_days is not None else 0
    offer = Offer(offer_id=new_id("off"), created_at=_now(), **fields)
    _check_payout_currency(offer, retailer.currency, "the retailer")
    return _create_offer(catalog, offer)


def _create_offer(catalog: CatalogStore, offer: Offer) -> views.Offer:
    body = offer_item(offer)
    before = catalog.version()
    catalog.create("OFFER", offer.offer_id, body)
    _publish(catalog, before, "OFFER", body)
    return views.Offer.of(offer)


def update_offer(catalog: CatalogStore, offer_id: str, update: OfferUpdate) -> views.Offer:
    """Change an offer's creative, payout, targeting, … (409 on a stale version)."""

    def billed_in_owners_currency(offer: Offer) -> None:
        if offer.kind == "first_party":
            _check_payout_currency(offer, load_retailer(catalog, offer.partner_id).currency, "the retailer")
        else:
            budget = load_partner(catalog, offer.partner_id).budget
            _check_payout_currency(offer, budget.currency if budget else None, "the partner")

    return views.Offer.of(_patch(catalog, "OFFER", offer_id, update, Offer, check=billed_in_owners_currency))


def owner_keys(catalog: CatalogStore, entity: str, owner_id: str) -> list[ApiKey]:
    """The keys of one retailer or partner (`entity` RETAILER or PARTNER); 404 if it does not exist."""
    _load(catalog, entity, owner_id, None)
    return list_keys(catalog, owner_id)


def owner_offers(
    catalog: CatalogStore, entity: str, owner_id: str, *, cursor: str | None, limit: int
) -> tuple[list[views.Offer], str | None]:
    """A page of one partner's offers, or of a retailer's first-party offers; 404 if no such owner."""
    _load(catalog, entity, owner_id, None)
    return list_owned_offers(catalog, owner_id, cursor=cursor, limit=limit)


def list_owned_offers(
    catalog: CatalogStore, owner: str, *, cursor: str | None, limit: int
) -> tuple[list[views.Offer], str | None]:
    """A page of the offers one partner or retailer (its first-party offers) owns."""
    items, next_cursor = _paged(lambda: catalog.page_owned(owner, "OFFER", cursor=cursor, limit=limit))
    return [views.Offer.of(offer_of(item)) for item in items], next_cursor


# --- shared ---------------------------------------------------------------------------------------


def _load(catalog: CatalogStore, entity: str, entity_id: str, field: str | None) -> dict[str, Any]:
    item = catalog.get(entity, entity_id)
    if item is None:
        if field:
            raise InvalidInput(f"no {entity.lower()} {entity_id!r}", field=field)
        raise NotFound(f"no {entity.lower()} {entity_id!r}")
    return item


def load_retailer(catalog: CatalogStore, retailer_id: str) -> Retailer:
    """A retailer's profile and rules (salt included, for hashing its customers)."""
    return retailer_of(_load(catalog, "RETAILER", retailer_id, None))


def load_partner(catalog: CatalogStore, partner_id: str, *, field: str | None = None) -> Partner:
    """A partner's profile (no secrets)."""
    return partner_of(_load(catalog, "PARTNER", partner_id, field))


def load_offer(catalog: CatalogStore, offer_id: str) -> Offer:
    """One offer."""
    return offer_of(_load(catalog, "OFFER", offer_id, None))


def _paged(
    read: Callable[[], tuple[list[dict[str, Any]], str | None]],
) -> tuple[list[dict[str, Any]], str | None]:
    try:
        return read()
    except ValueError as error:  # a cursor that is not one of ours
        raise InvalidInput(str(error), field="cursor") from error


def list_entities(
    catalog: CatalogStore, entity: str, *, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """A page of retailers, partners or offers, as callers see them."""
    items, next_cursor = _paged(lambda: catalog.page(entity, cursor=cursor, limit=limit))
    return [_view(entity, item) for item in items], next_cursor


def _view(entity: str, item: dict[str, Any]) -> views.Retailer | views.Partner | views.Offer:
    if entity == "RETAILER":
        return views.Retailer.of(retailer_of(item))
    if entity == "PARTNER":
        return views.Partner.of(partner_of(item))
    return views.Offer.of(offer_of(item))


def _patch(
    catalog: CatalogStore,
    entity: str,
    entity_id: str,
    update: Patch,
    model: type[Entity],
    *,
    check: Callable[[Entity], None] | None = None,
    full_publish: bool = False,
) -> Entity:
    """Apply a partial update at the version the caller read and return the entity as written:
    409 if the item is at another version or changes meanwhile; 422 naming the field if the
    result is not valid as a whole (e.g. a targeting range whose new minimum exceeds the old
    maximum)."""
    for _ in range(3):
        stored = _load(catalog, entity, entity_id, None)
        version = int(stored.get("version", 1))
        if version != update.version:
            raise Conflict(f"{entity.lower()} {entity_id} is at version {version}, not {update.version}")
        body = {**stored, **update.changes(), "version": version + 1}
        try:
            changed = entity_from_item(model, body)
        except ValidationError as error:
            raise validation_error(error) from error
        if check:
            check(changed)
        before = catalog.version()
        try:
            catalog.replace(entity, entity_id, body, expected_version=version)
        except VersionConflict:
            # Someone else's version (the check above answers 409 on the next read), or a
            # rotation of the partner's webhook secrets since our read: apply the change again
            # on top of it rather than write back the secrets we read.
            continue
        _publish(catalog, before, entity, body, full=full_publish)
        return changed
    raise Conflict(f"{entity.lower()} {entity_id} was changed by someone else; reload and retry")


def set_status(
    catalog: CatalogStore, entity: str, entity_id: str, update: StatusUpdate
) -> views.Retailer | views.Partner | views.Offer:
    """Pause or resume a retailer (its pages show no offers), a partner (all its offers) or one
    offer; 409 if it changed meanwhile."""
    # A resumed partner's offers come back: they are not in the snapshot, so publish in full.
    resumed_partner = entity == "PARTNER" and update.status == "active"
    change = _StatusPatch(version=update.version, status=update.status)
    if entity == "RETAILER":
        return views.Retailer.of(_patch(catalog, entity, entity_id, change, Retailer))
    if entity == "PARTNER":
        return views.Partner.of(
            _patch(catalog, entity, entity_id, change, Partner, full_publish=resumed_partner)
        )
    return views.Offer.of(_patch(catalog, entity, entity_id, change, Offer))


class _StatusPatch(Patch):
    status: str | None = None
