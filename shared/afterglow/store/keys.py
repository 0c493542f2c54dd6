"""Every ledger key, composed in one place. Services name things (a click id, a partner and its
conversion id); only the store turns names into keys."""

import hashlib
from urllib.parse import quote


def click(click_id: str) -> str:
    return f"CLICK#{click_id}"


def clicked(decision_id: str, offer_id: str) -> str:
    """The marker that makes repeat clicks on one decision × offer one click."""
    return f"CLICKED#{decision_id}#{offer_id}"


def conversion(partner_id: str, conversion_id: str) -> str:
    return f"CONVERSION#{partner_id}#{conversion_id}"


def click_action(click_id: str, action: str) -> str:
    """The claim that lets a click convert once per action."""
    return f"CLICKACTION#{click_id}#{action}"


def reversal(partner_id: str, reversal_id: str) -> str:
    return f"REVERSAL#{partner_id}#{reversal_id}"


def rejected_conversion(partner_id: str, conversion_id: str) -> str:
    return f"REJECTED#{partner_id}#{conversion_id}"


def rejected_reversal(partner_id: str, reversal_id: str) -> str:
    """A prefix of its own, so no conversion id (any printable text, `reversal#X` included) can
    name a refused reversal's key. Refused reversals kept before this prefix existed live under
    `REJECTED#<partner>#reversal#<id>`; reconciliation reads them by kind, not key."""
    return f"REJECTED_REVERSAL#{partner_id}#{reversal_id}"


def event(event_type: str, decision_id: str, offer_id: str | None) -> str:
    """One storefront event per decision × offer × type: a retry, a reload, a second tab is it again."""
    return f"EVENT#{event_type}#{decision_id}#{offer_id or '-'}"


def add_on_return(retailer_id: str, return_id: str) -> str:
    """A retailer's return of an own-brand add-on, by the retailer's own return id (its ids are its
    own: two retailers may use the same one)."""
    return f"RETURN#{retailer_id}#{return_id}"


def page_view(decision_id: str, view: int) -> str:
    """One confirmation page view per decision × view number (1 the first render, 2 a reload, …)."""
    return f"EVENT#page_view#{decision_id}#{view}"


def decision(retailer_id: str, order_id: str, placement: str, content_digest: str) -> str:
    """A decision per retailer × order × placement × request content (`decisions.request_digest`)."""
    return f"DECISION#{retailer_id}#{quote(order_id, safe='')}#{placement}#{content_digest}"


def deliveries(partner_id: str) -> str:
    """The owner of a partner's delivery log lines (the `by_owner` index)."""
    return f"DELIVERIES#{partner_id}"


def delivery(partner_id: str, webhook_id: str, at_iso: str) -> str:
    return f"DELIVERY#{partner_id}#{webhook_id}#{at_iso}"


def digest(text: str, length: int = 32) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]
