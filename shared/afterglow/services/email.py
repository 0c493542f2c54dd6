"""E-mail placements: a decision's slate rendered as an e-mail, and the open pixel
(`GET /v1/o/{token}.gif`) that counts the e-mail's offers as seen.

An e-mail has no viewport to watch: the closest thing to "the offers were seen" is the mail client
loading the pixel when the HTML is shown. It records an `impression` of every offer of the slate,
through the same once-per-decision × offer × type write as the storefront's impressions, so
learning and reconciliation count it like any impression; reopening the e-mail, another device or
an image proxy fetching it ahead (Gmail, Apple Mail Privacy Protection) change nothing.

The pixel always answers the GIF — a forged, expired or tampered token, or a ledger that cannot be
written right now, records nothing but still gets the image: a mail client shows a broken image
otherwise, in an e-mail the retailer sent.
"""

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from afterglow.catalog import CatalogIndex
from afterglow.email_render import EmailOffer, RenderedEmail, SatisfactionPrompt, render
from afterglow.errors import StoreUnavailable
from afterglow.followups import Followup
from afterglow.models import (
    DecisionRequest,
    DecisionResponse,
    EmailDecisionResponse,
    EmailView,
    OfferView,
    Retailer,
)
from afterglow.observability import logger, metrics
from afterglow.rules import is_followup_placement
from afterglow.satisfaction import SCALES
from afterglow.services.decisions import click_url, signer
from afterglow.settings import get_settings
from afterglow.signing import InvalidToken, TrackingClaims
from afterglow.store import Stores
from afterglow.store.records import EventRecord

# The smallest transparent GIF (1×1, 43 bytes).
OPEN_PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
CONFIRMATION_HEADING = "Picked for your order"
FOLLOWUP_HEADING = "Still thinking it over?"
REFILL_HEADING = "Running low? Time for a refill"


def pixel_url(api_url: str, claims: TrackingClaims, offer_ids: tuple[str, ...]) -> str:
    """The open pixel of a slate: a token of the decision that names its offers."""
    return f"{api_url}/v1/o/{signer().sign(replace(claims, offer_id='', slate=offer_ids))}.gif"


def email_offer(offer: OfferView) -> EmailOffer:
    """What an e-mail shows of an offer of the decision response."""
    return EmailOffer(
        title=offer.title,
        body=offer.body,
        cta=offer.cta,
        click_url=offer.click_url,
        image_url=offer.image_url,
        price_minor=offer.price_minor,
        discount_pct=offer.discount_pct,
    )


def with_email(
    response: DecisionResponse, retailer: Retailer, request: DecisionRequest, api_url: str
) -> EmailDecisionResponse:
    """A decision for an e-mail placement with its slate rendered: a block for the confirmation
    e-mail, a whole e-mail (with a subject) for a follow-up. A replay renders the same bytes: the
    pixel's token is made from the decision token's own claims."""
    email = None
    if response.offers and response.decision_token:
        try:
            email = _rendered(response, retailer, request, api_url)
        except Exception:  # the slate is decided and recorded: answer it, without its e-mail
            logger.exception("e-mail rendering failed", extra={"decision_id": response.decision_id})
            metrics.add_metric(name="EmailRenderFailed", unit="Count", value=1)
    return EmailDecisionResponse(**dict(response), email=email)


def _rendered(
    response: DecisionResponse, retailer: Retailer, request: DecisionRequest, api_url: str
) -> EmailView:
    # The decision's own token, checked as of its own time: a replay days later renders alike.
    claims = signer().verify(response.decision_token, now=int(response.created_at.timestamp()))
    pixel = pixel_url(api_url, claims, tuple(offer.offer_id for offer in response.offers))
    followup = is_followup_placement(request.placement)
    heading = FOLLOWUP_HEADING if followup else CONFIRMATION_HEADING
    rendered = render(
        [email_offer(offer) for offer in response.offers],
        heading=heading,
        currency=request.currency,
        locale=request.locale,
        pixel_url=pixel,
        subject=f"{retailer.name}: {heading}" if followup else None,
    )
    return EmailView(subject=rendered.subject, html=rendered.html, text=rendered.text, open_pixel_url=pixel)


def followup_emails(
    retailer: Retailer, index: CatalogIndex, api_url: str
) -> Callable[[Followup], RenderedEmail | None]:
    """Renders a follow-up row of the nightly file as a whole e-mail of its offers as the catalog
    has them now (paused or removed ones left out; None if none is left). Its links are signed
    with the decision's own time and last until the send window closes plus the token lifetime:
    a re-run writes the same bytes, and a refill's links outlive the usual seven days. No open
    pixel: the offers' impressions are in the ledger already, so it would count nothing."""
    tokens, ttl = signer(), get_settings().token_ttl_seconds

    def email(row: Followup) -> RenderedEmail | None:
        issued_at, expires_at = row.link_lifetime(ttl)
        offers = []
        for offer_id in row.offer_ids:
            offer = index.offers.get(offer_id)
            if offer is None or offer.status != "active":
                continue
            claims = TrackingClaims(
                retailer.retailer_id,
                row.decision_id,
                offer_id,
                row.arm,
                issued_at,
                dict(row.context or {}),
                expires_at=expires_at,
            )
            creative = offer.creative
            offers.append(
                EmailOffer(
                    title=creative.title,
                    body=creative.body,
                    cta=creative.cta,
                    click_url=click_url(api_url, tokens.sign(claims)),
                    image_url=str(creative.image_url) if creative.image_url else None,
                    price_minor=creative.price_minor,
                    discount_pct=creative.discount_pct,
                )
            )
        if not offers:
            return None
        heading = REFILL_HEADING if row.timing == "refill" else FOLLOWUP_HEADING
        return render(
            offers,
            heading=heading,
            currency=retailer.currency,
            subject=f"{retailer.name}: {heading}",
            satisfaction=satisfaction_prompt(retailer, row.satisfaction_links),
        )

    return email


def satisfaction_prompt(retailer: Retailer, links: tuple[str, ...]) -> SatisfactionPrompt | None:
    """The retailer's satisfaction question with a follow-up's one-tap links (one per score, lowest
    first, as `services.satisfaction.followup_links` signs them); None without either."""
    question = retailer.satisfaction
    if question is None or not links:
        return None
    low, high = SCALES[question.scale]
    scores = range(low, high + 1)
    if len(links) != len(scores):  # signed for another scale: the question changed since
        return None
    return SatisfactionPrompt(
        question=question.question,
        links=tuple(zip(scores, links, strict=True)),
        low_label=question.low_label,
        high_label=question.high_label,
    )


def record_open(stores: Stores, index: CatalogIndex, token: str) -> int:
    """Record the opening of an e-mail: an impression of each offer its pixel names, once each.
    The number newly recorded (0 for a replay, a token that cannot be trusted, or a store failure)."""
    now = datetime.now(UTC)
    try:
        claims = signer().verify(token, now=int(now.timestamp()))
    except InvalidToken as error:
        metrics.add_metric(name="OpenPixelRefused", unit="Count", value=1)
        logger.info("open pixel refused", extra={"reason": error.reason})
        return 0
    recorded = 0
    try:
        for offer_id in claims.slate:
            offer = index.offers.get(offer_id)
            impression = EventRecord(
                type="impression",
                retailer_id=claims.retailer_id,
                decision_id=claims.decision_id,
                arm=claims.arm,
                client_event_id="open_pixel",  # no client event: the mail client loaded the pixel
                client_occurred_at=now,
                recorded_at=now,
                offer_id=offer_id,
                partner_id=offer.partner_id if offer else None,
                context=claims.context,
                channel="email",
            )
            recorded += stores.ledger.record_event(impression)
    except StoreUnavailable:
        logger.warning(
            "open pixel not recorded: store unavailable", extra={"decision_id": claims.decision_id}
        )
    except Exception:  # the image must still load in the customer's mail
        logger.exception("open pixel not recorded", extra={"decision_id": claims.decision_id})
    metrics.add_metric(name="EmailImpressions", unit="Count", value=recorded)
    return recorded
