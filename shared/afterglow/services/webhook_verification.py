"""Partner webhooks, before anything is recorded: who signed (Standard Webhooks, a partner's
current secrets), the delivery's id, and the body as a model."""

import re
from collections.abc import Mapping
from time import monotonic
from typing import Any

from pydantic import TypeAdapter, ValidationError
from standardwebhooks import Webhook

from afterglow import warm
from afterglow.errors import InvalidInput, MalformedHeader, Unauthorized
from afterglow.models import ConversionWebhook, PartnerWebhook, ReversalWebhook
from afterglow.observability import metrics
from afterglow.services.webhook_secrets import partner_webhook_secrets
from afterglow.store import CatalogStore
from afterglow.store.records import ClickRecord

PARTNER_HEADER = "afterglow-partner"
# The webhook-id is part of the delivery log's keys (and their 1,024-byte sort key): printable ASCII
# keeps its bytes equal to its characters, and 256 of them leave room for the rest of the key.
WEBHOOK_ID = re.compile(r"[\x20-\x7e]{1,256}")
# Names looked up before the body is validated: only what could be a key of ours is looked up, so
# no client string reaches the store longer than its key limits (in bytes) allow.
_LOOKUP_NAME = re.compile(r"[\x21-\x7e]{1,128}")
_webhook_body: TypeAdapter[PartnerWebhook] = TypeAdapter(PartnerWebhook)


def lookup_name(payload: Any, field: str) -> str | None:
    """A string field of the body that could name a click or a partner, if the body has one."""
    value = payload.get(field) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and _LOOKUP_NAME.fullmatch(value) else None


def webhook_id_of(headers: Mapping[str, str]) -> str:
    """The delivery's `webhook-id`; 400 before anything is read or written when no key can hold it.

    A missing id is left to the signature check (it signs the id), which answers 401.
    """
    webhook_id = headers.get("webhook-id", "")
    if webhook_id and not WEBHOOK_ID.fullmatch(webhook_id):
        raise MalformedHeader("webhook-id must be 1 to 256 printable ASCII characters", field="webhook-id")
    return webhook_id


def _claimed_partner(headers: Mapping[str, str], payload: Any, click: ClickRecord | None) -> str | None:
    """Which partner says it sent this: the `afterglow-partner` header, else `partner_id` in the
    body, else the owner of the click in the body.

    Nothing here is trusted yet; it only chooses whose secrets the signature is checked against.
    """
    if headers.get(PARTNER_HEADER):
        header = headers[PARTNER_HEADER]
        return header if _LOOKUP_NAME.fullmatch(header) else None
    named = lookup_name(payload, "partner_id")
    if named:
        return named
    return click.partner_id if click else None


class PartnerSecretsCache:
    """Partners' webhook secrets held for a minute: a warm function verifies without a read.

    Adding a secret (rotation) works at once for the old one and within a minute for the new one;
    a revoked secret stops working within a minute. An unknown partner is never cached.
    """

    TTL_SECONDS = 60.0

    def __init__(self) -> None:
        self._secrets: dict[str, tuple[list[str], float]] = {}

    def get(self, catalog: CatalogStore, partner_id: str) -> list[str]:
        cached = self._secrets.get(partner_id)
        if cached and monotonic() - cached[1] < self.TTL_SECONDS:
            return cached[0]
        secrets = partner_webhook_secrets(catalog, partner_id)
        if secrets:
            self._secrets[partner_id] = (secrets, monotonic())
        return secrets

    def clear(self) -> None:
        self._secrets.clear()


_secrets_cache = warm.keep("partner webhook secrets", PartnerSecretsCache())


def verify_partner_signature(
    catalog: CatalogStore,
    headers: Mapping[str, str],
    body: bytes,
    payload: Any,
    click: ClickRecord | None,
) -> str:
    """The partner whose current secret signed these exact bytes (`payload` is them parsed), or
    `Unauthorized` (no details)."""
    partner_id = _claimed_partner(headers, payload, click)
    secrets = _secrets_cache.get(catalog, partner_id) if partner_id else []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers), json_parse=False)
        except Exception:  # noqa: S112 - any failure means "not this secret"; try the next one
            continue
        assert partner_id is not None
        return partner_id
    metrics.add_metric(name="WebhookSignatureRejected", unit="Count", value=1)
    raise Unauthorized("invalid webhook signature")


def parse_partner_webhook(payload: Any) -> ConversionWebhook | ReversalWebhook:
    """The parsed webhook body as a model; 422 naming the field when it is not one."""
    try:
        return _webhook_body.validate_python(payload)
    except ValidationError as error:
        first = error.errors()[0]
        # Drop the union tag pydantic puts first ("conversion.click_id" -> "click_id").
        location = [str(part) for part in first["loc"] if part not in ("conversion", "reversal")]
        field = ".".join(location) or "body"
        raise InvalidInput(f"{field}: {first['msg']}", field=field) from error
