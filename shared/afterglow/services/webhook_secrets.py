"""Partners' webhook secrets: list them (ids and hints), add one (rotation, step one: shown once,
valid alongside the others) and remove one (step two; never the last).

Secrets are not part of a partner's profile version nor of the catalog snapshot: rotating them
neither conflicts with a profile edit nor makes functions reload the catalog. Verifying a webhook
reads them through `partner_webhook_secrets`.
"""

from collections.abc import Callable

from afterglow.errors import Conflict, NotFound
from afterglow.models import WebhookSecret, WebhookSecretCreated, WebhookSecretList
from afterglow.services.catalog_entities import stored_item
from afterglow.signing import new_webhook_secret, webhook_secret_id
from afterglow.store import CatalogStore, Stores
from afterglow.store.entities import webhook_secrets_of

MAX_WEBHOOK_SECRETS = 5
ROTATION_TRIES = 3


def partner_webhook_secrets(catalog: CatalogStore, partner_id: str) -> list[str]:
    """Every currently valid webhook secret of a partner (several during rotation); [] if unknown."""
    return webhook_secrets_of(catalog.get("PARTNER", partner_id))


def list_webhook_secrets(stores: Stores, partner_id: str) -> WebhookSecretList:
    """A partner's valid webhook secrets, by id and hint only; 404 if there is no such partner."""
    return WebhookSecretList(items=[_listed(secret) for secret in _current(stores, partner_id)])


def add_webhook_secret(stores: Stores, partner_id: str) -> WebhookSecretCreated:
    """Rotation, step one: a new secret valid alongside the current ones (at most five)."""
    secret = new_webhook_secret()

    def add(current: list[str]) -> list[str]:
        if len(current) >= MAX_WEBHOOK_SECRETS:
            raise Conflict(f"a partner has at most {MAX_WEBHOOK_SECRETS} secrets; remove an old one first")
        return [*current, secret]

    _change(stores, partner_id, add)
    return WebhookSecretCreated(secret_id=webhook_secret_id(secret), webhook_secret=secret)


def remove_webhook_secret(stores: Stores, partner_id: str, secret_id: str) -> WebhookSecretList:
    """Rotation, step two: the old secret stops verifying (within a minute on warm functions).
    The last secret cannot be removed: the partner could no longer report anything."""

    def remove(current: list[str]) -> list[str]:
        kept = [s for s in current if webhook_secret_id(s) != secret_id]
        if len(kept) == len(current):
            raise NotFound(f"no webhook secret {secret_id!r}")
        if not kept:
            raise Conflict("this is the partner's only secret; add its successor first")
        return kept

    _change(stores, partner_id, remove)
    return list_webhook_secrets(stores, partner_id)


def _listed(secret: str) -> WebhookSecret:
    return WebhookSecret(secret_id=webhook_secret_id(secret), hint=secret[-4:])


def _current(stores: Stores, partner_id: str) -> list[str]:
    return webhook_secrets_of(stored_item(stores.catalog, "PARTNER", partner_id))


def _change(stores: Stores, partner_id: str, change: Callable[[list[str]], list[str]]) -> None:
    for _ in range(ROTATION_TRIES):  # another rotation at the same moment: read again and retry
        current = _current(stores, partner_id)
        if stores.catalog.swap_webhook_secrets(partner_id, current, change(current)):
            return
    raise Conflict("the partner's secrets keep changing; retry")
