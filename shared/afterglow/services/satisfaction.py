"""Satisfaction answers and confirmation page views: what the ledger keeps of them, and the
one-tap link (`GET /v1/s/{token}?score=N`) that a follow-up e-mail carries, one per score.

One answer per decision counts: the first one recorded (from the page or a link). A later answer
to the same decision — another score, another channel — is a duplicate and changes nothing: a
customer's first reaction is the one the read-out compares, and no replay can move it.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from afterglow.catalog import CatalogIndex
from afterglow.errors import InvalidInput, NotFound
from afterglow.followups import Followup
from afterglow.models import Retailer
from afterglow.observability import metrics
from afterglow.satisfaction import SCALES, ScoreRefused, checked_score
from afterglow.services.decisions import signer
from afterglow.settings import get_settings
from afterglow.signing import InvalidToken, TokenSigner, TrackingClaims
from afterglow.store import Stores
from afterglow.store.records import EventRecord

MAX_VIEWS_PER_DECISION = 20  # sessions one decision can count: a client cannot inflate an arm


class AnswerRefused(Exception):
    """A satisfaction answer or page view that is not recorded; `reason` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def answer_details(retailer: Retailer, raw_score: Any) -> dict[str, Any]:
    """What the ledger keeps of a satisfaction answer: its score and the scale it is on."""
    question = retailer.satisfaction
    if question is None:
        raise AnswerRefused("retailer_has_no_satisfaction_question")
    try:
        score = checked_score(question.scale, raw_score)
    except ScoreRefused as error:
        raise AnswerRefused(error.reason) from error
    return {"scale": question.scale, "score": score}


def view_number(raw_view: Any) -> int:
    """The page view's number within its decision (1 the first render, 2 a reload, …), bounded."""
    if raw_view is None:
        return 1
    if (
        not isinstance(raw_view, int)
        or isinstance(raw_view, bool)
        or not 1 <= raw_view <= MAX_VIEWS_PER_DECISION
    ):
        raise AnswerRefused(f"view_must_be_1_to_{MAX_VIEWS_PER_DECISION}")
    return raw_view


def answer_links(tokens: TokenSigner, claims: TrackingClaims, scale: str, api_url: str) -> tuple[str, ...]:
    """One signed one-tap link per score of the scale, lowest first (for an e-mail)."""
    token = quote(tokens.sign(claims), safe="")
    low, high = SCALES[scale]
    return tuple(f"{api_url}/v1/s/{token}?score={score}" for score in range(low, high + 1))


def followup_links(retailer_id: str, scale: str, api_url: str) -> Callable[[Followup], tuple[str, ...]]:
    """Signs a follow-up's links like its e-mail's offer links (`Followup.link_lifetime`): a re-run
    of the day writes the same bytes, and they last as long as the e-mail may be sent and read."""
    tokens, ttl = signer(), get_settings().token_ttl_seconds

    def links(row: Followup) -> tuple[str, ...]:
        issued_at, expires_at = row.link_lifetime(ttl)
        claims = TrackingClaims(retailer_id, row.decision_id, "", row.arm, issued_at, expires_at=expires_at)
        return answer_links(tokens, claims, scale, api_url)

    return links


def record_link_answer(
    stores: Stores, index: CatalogIndex, token: str, raw_score: str | None
) -> Literal["recorded", "already_answered"]:
    """Record the answer of a one-tap link: a genuine, unexpired decision token and a score on the
    retailer's scale (4xx otherwise). A second tap — any score — is `already_answered`."""
    now = datetime.now(UTC)
    claims = signer().verify(token, now=int(now.timestamp()))
    if claims.offer_id:
        raise InvalidToken("satisfaction_needs_the_decision_token", "not a decision's satisfaction link")
    retailer = index.retailers.get(claims.retailer_id)
    if retailer is None:
        raise NotFound("the shop of this link is unknown")
    if raw_score is None:
        raise InvalidInput("score is required, e.g. ?score=9", field="score")
    try:
        digits = raw_score is not None and raw_score.isascii() and raw_score.isdigit() and len(raw_score) <= 3
        score = int(raw_score) if digits else raw_score
        details = answer_details(retailer, score)
    except AnswerRefused as error:
        raise InvalidInput(error.reason.replace("_", " "), field="score") from error
    answer = EventRecord(
        type="satisfaction",
        retailer_id=claims.retailer_id,
        decision_id=claims.decision_id,
        arm=claims.arm,
        client_event_id="link",  # no client event: the tap on the e-mail's link
        client_occurred_at=now,
        recorded_at=now,
        channel="link",
        scale=details["scale"],
        score=details["score"],
    )
    if stores.ledger.record_event(answer):
        metrics.add_metric(name="SatisfactionAnswers", unit="Count", value=1)
        return "recorded"
    return "already_answered"


_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width,initial-scale=1">'
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
    "<title>Thank you</title><style>body{{font:18px/1.5 system-ui,sans-serif;margin:3rem auto;"
    "max-width:32rem;padding:0 1rem;color:#1d2330;text-align:center}}</style></head>"
    "<body><h1>Thank you!</h1><p>{message}</p></body></html>\n"
)


def thank_you_page(outcome: Literal["recorded", "already_answered"]) -> str:
    """The small page a one-tap link answers (no script, nothing fetched)."""
    message = (
        "Your answer has been recorded."
        if outcome == "recorded"
        else "We already have your answer for this order."
    )
    return _PAGE.format(message=message)
