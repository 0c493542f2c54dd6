"""Retailers, partners and offers as the catalog table holds them.

The one place that maps a domain entity to its stored body and back, and so the one place that
knows what a stored item carries beyond any API model: a retailer its salt (a field of the
entity, which the decision path needs) and a partner its webhook secrets (no model has them: only
verifying a webhook and rotating the secrets read them, through `webhook_secrets_of`).
"""

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from afterglow.models.entities import Offer, Partner, Retailer

EntityKind = Literal["RETAILER", "PARTNER", "OFFER"]
Entity = TypeVar("Entity", Retailer, Partner, Offer)
# The kind an entity is stored under: the first part of its key, and its `type_pk`.
KIND: dict[type[Retailer] | type[Partner] | type[Offer], EntityKind] = {
    Retailer: "RETAILER",
    Partner: "PARTNER",
    Offer: "OFFER",
}
WEBHOOK_SECRETS = "webhook_secrets"


def retailer_item(retailer: Retailer) -> dict[str, Any]:
    """A retailer as stored: every field, its salt included."""
    return retailer.model_dump(mode="json")


def partner_item(partner: Partner, *, webhook_secrets: list[str]) -> dict[str, Any]:
    """A partner as stored: its profile and the webhook secrets that are valid for it."""
    return {**partner.model_dump(mode="json"), WEBHOOK_SECRETS: list(webhook_secrets)}


def offer_item(offer: Offer) -> dict[str, Any]:
    """An offer as stored."""
    return offer.model_dump(mode="json")


def entity_from_item(model: type[Entity], item: Mapping[str, Any]) -> Entity:
    """The entity a stored item holds (what the model does not name, such as a partner's webhook
    secrets or the table's keys, stays in the item)."""
    return model.model_validate(item)


def retailer_of(item: Mapping[str, Any]) -> Retailer:
    """The retailer a stored item holds."""
    return entity_from_item(Retailer, item)


def partner_of(item: Mapping[str, Any]) -> Partner:
    """The partner a stored item holds (its webhook secrets stay in the item)."""
    return entity_from_item(Partner, item)


def offer_of(item: Mapping[str, Any]) -> Offer:
    """The offer a stored item holds."""
    return entity_from_item(Offer, item)


def webhook_secrets_of(item: Mapping[str, Any] | None) -> list[str]:
    """The webhook secrets a stored partner carries ([] for none, or no partner)."""
    return list(item.get(WEBHOOK_SECRETS, [])) if item else []
