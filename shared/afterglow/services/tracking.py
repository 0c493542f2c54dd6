"""Click tracking: `GET /v1/c/{token}` records the click and says where to send the shopper.

Storefront events (impressions, dismiss, engage, accept) are `afterglow.services.events`.
"""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from afterglow.errors import NotFound
from afterglow.services.catalog_entities import load_offer
from afterglow.services.decisions import signer
from afterglow.signing import new_id
from afterglow.store import Stores
from afterglow.store.records import ClickRecord

# Clicks on one offer of one decision within this long of the first are that click again: reloads,
# back buttons and link scanners open the same link, and are neither new clicks nor new engagement.
CLICK_REPEAT_WINDOW = timedelta(minutes=30)


def with_click_id(url: str, click_id: str) -> str:
    """The partner's landing URL with `click_id` added to whatever query string it already has."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "click_id"]
    query.append(("click_id", click_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def record_click(stores: Stores, token: str) -> str:
    """Verify the token, record a click under a fresh unguessable id, return the redirect URL.

    A repeat within CLICK_REPEAT_WINDOW of the first click on this decision × offer redirects with
    the first click's id and records and counts nothing new (unless the first click's record was
    never written: then this one writes it). The click keeps the offer's payout terms as they are
    now: a later edit of the offer never changes what this click can earn.
    """
    now = datetime.now(UTC)
    claims = signer().verify(token, now=int(now.timestamp()))
    try:
        offer = load_offer(stores.catalog, claims.offer_id)
    except NotFound as error:
        raise NotFound("this offer is no longer available") from error
    click_id = stores.ledger.claim_click(
        claims.decision_id,
        offer.offer_id,
        new_id("clk"),
        now,
        window_seconds=int(CLICK_REPEAT_WINDOW.total_seconds()),
    )
    stores.ledger.record_click(
        ClickRecord(
            click_id=click_id,
            retailer_id=claims.retailer_id,
            partner_id=offer.partner_id,
            offer_id=offer.offer_id,
            decision_id=claims.decision_id,
            arm=claims.arm,
            context=claims.context,
            payout=offer.payout,
            attribution_window_days=offer.attribution_window_days,
            lock_days=offer.lock_days,
            allow_repeat_conversions=offer.allow_repeat_conversions,
            recorded_at=now,
        )
    )
    return with_click_id(offer.landing_url, click_id)
