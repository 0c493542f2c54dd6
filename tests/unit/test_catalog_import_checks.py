"""Checking catalog lines before an import: every problem, with its line number and field."""

import json

import pytest

from afterglow.catalog_import_checks import (
    OfferLine,
    PartnerLine,
    check_catalog_lines,
    content_hash,
    entity_content,
)
from afterglow.models import PartnerCreate

PARTNER = {"type": "partner", "partner_id": "par_1", "name": "Bean Post", "default_lock_days": 14}
OFFER = {
    "type": "offer",
    "offer_id": "off_1",
    "partner_id": "par_1",
    "category": "coffee",
    "creative": {"title": "First bag free"},
    "landing_url": "https://beanpost.example/welcome",
    "payout": {"type": "fixed", "currency": "EUR", "amounts": {"signup": 500}},
}


def _problems(*lines: object) -> list[tuple[int, str | None]]:
    texts = [line if isinstance(line, str) else json.dumps(line) for line in lines]
    _, errors = check_catalog_lines(texts)
    return [(error.line, error.field) for error in errors]


def test_valid_lines_become_partners_and_offers_and_blank_lines_are_skipped():
    valid, errors = check_catalog_lines([json.dumps(PARTNER), "  ", json.dumps(OFFER), ""])
    assert errors == []
    assert [(type(entry), entry.line, entry.entity_id) for entry in valid] == [
        (PartnerLine, 1, "par_1"),
        (OfferLine, 3, "off_1"),
    ]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('{"type": "partner"', None),
        ("[1, 2]", None),
        ({**PARTNER, "type": ["partner"]}, "type"),
        ({k: v for k, v in PARTNER.items() if k != "type"}, "type"),
        ({k: v for k, v in PARTNER.items() if k != "partner_id"}, "partner_id"),
        ({**PARTNER, "partner_id": "par 1"}, "partner_id"),
        ({**PARTNER, "status": "paused"}, "status"),
        ({**OFFER, "category": "spaceships"}, "category"),
        ({**OFFER, "landing_url": "http://beanpost.example/"}, "landing_url"),
        ({**OFFER, "payout": {"type": "percent", "bps": -5}}, "payout.percent.bps"),
    ],
)
def test_a_bad_line_is_reported_with_its_number_and_field(line, field):
    assert _problems(PARTNER, line) == [(2, field)]


def test_every_bad_line_is_reported_not_just_the_first():
    problems = _problems(PARTNER, "nope", {**OFFER, "category": "x"}, OFFER, PARTNER, OFFER)
    assert problems == [(2, None), (3, "category"), (5, "partner_id"), (6, "offer_id")]


def test_a_line_with_several_problems_reports_each():
    line = {**OFFER, "offer_id": "", "category": "x", "landing_url": "ftp://x"}
    assert _problems(line) == [(1, "offer_id"), (1, "category"), (1, "landing_url")]


def test_an_offer_takes_its_window_and_lock_period_from_its_partner_unless_it_sets_them():
    valid, _ = check_catalog_lines([json.dumps({**OFFER, "attribution_window_days": 7})])
    content = entity_content(valid[0], {"par_1": PartnerCreate(name="Bean Post", default_lock_days=14)})
    assert (content["attribution_window_days"], content["lock_days"]) == (7, 14)


def test_the_content_hash_ignores_key_order_but_not_values():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
