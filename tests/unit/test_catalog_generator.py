"""The synthetic catalog: reproducible to the byte, the promised size, valid, and spread realistically."""

import io
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest

from afterglow.models import FixedPayout, OfferCreate, PartnerCreate
from afterglow.taxonomy import CATEGORIES
from afterglow_dev.catalog_generator import generate_catalog, write_catalog


def _catalog_text(partners: int, seed: int) -> str:
    out = io.StringIO()
    write_catalog(out, partners, seed=seed)
    return out.getvalue()


@pytest.fixture(scope="module")
def full_catalog() -> list[dict[str, Any]]:
    """The catalog `afterglow catalog generate --partners 4600 --seed 7` writes."""
    return [json.loads(line) for line in _catalog_text(4600, seed=7).splitlines()]


def test_the_same_seed_writes_a_byte_identical_file():
    assert _catalog_text(300, seed=7) == _catalog_text(300, seed=7)


def test_the_file_does_not_depend_on_the_process_that_writes_it():
    # Given two interpreters with different hash seeds (set and dict-of-str order can differ)
    script = (
        "import sys; from afterglow_dev.catalog_generator import write_catalog;"
        " write_catalog(sys.stdout, 150, seed=7)"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONIOENCODING": "utf-8"},
            capture_output=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    # Then both write the same bytes as this process does
    assert outputs == {_catalog_text(150, seed=7).encode()}


def test_another_seed_writes_another_catalog():
    assert _catalog_text(100, seed=7) != _catalog_text(100, seed=8)


def test_the_full_catalog_has_4600_partners_then_20000_offers(full_catalog):
    types = [line["type"] for line in full_catalog]
    assert types.count("partner") == 4600
    assert types.count("offer") == 20_000
    assert types == sorted(types, key=lambda kind: kind != "partner")  # every partner line first


def test_ids_are_stable_and_unique(full_catalog):
    partner_ids = [line["partner_id"] for line in full_catalog if line["type"] == "partner"]
    offer_ids = [line["offer_id"] for line in full_catalog if line["type"] == "offer"]
    assert partner_ids[:2] == ["par_gen_00001", "par_gen_00002"]
    assert offer_ids[0] == "off_gen_00001_01"
    assert len(set(partner_ids)) == len(partner_ids)
    assert len(set(offer_ids)) == len(offer_ids)


def test_every_line_is_a_valid_partner_or_offer_of_a_generated_partner(full_catalog):
    partners = set()
    for line in full_catalog:
        fields = {k: v for k, v in line.items() if k not in ("type", "partner_id", "offer_id")}
        if line["type"] == "partner":
            PartnerCreate.model_validate(fields)
            partners.add(line["partner_id"])
        else:
            offer = OfferCreate.model_validate({**fields, "partner_id": line["partner_id"]})
            assert offer.partner_id in partners
            assert offer.landing_url.host and offer.landing_url.host.endswith(".example")


def test_offers_are_spread_over_every_category_with_realistic_weights(full_catalog):
    per_category = Counter(line["category"] for line in full_catalog if line["type"] == "offer")
    assert set(per_category) == set(CATEGORIES)
    assert min(per_category.values()) >= 100  # even the smallest category is well stocked
    assert per_category["beauty"] > 3 * per_category["computing"]  # but not uniform


def test_partners_have_unique_names_and_offers_skewed_sizes(full_catalog):
    names = [line["name"] for line in full_catalog if line["type"] == "partner"]
    assert len(set(names)) == len(names)
    offers_per_partner = Counter(line["partner_id"] for line in full_catalog if line["type"] == "offer")
    assert len(offers_per_partner) == 4600  # every brand has at least one offer
    assert max(offers_per_partner.values()) >= 15 > min(offers_per_partner.values())


def test_payouts_are_mostly_fixed_in_eur_gbp_usd_with_a_share_of_percentages(full_catalog):
    payouts = [line["payout"] for line in full_catalog if line["type"] == "offer"]
    currencies = Counter(p["currency"] for p in payouts if p["type"] == "fixed")
    assert sum(currencies[c] for c in ("EUR", "GBP", "USD")) / sum(currencies.values()) > 0.9
    percent_share = sum(p["type"] == "percent" for p in payouts) / len(payouts)
    assert 0.2 < percent_share < 0.5
    actions = Counter(action for p in payouts if p["type"] == "fixed" for action in p["amounts"])
    assert {"signup", "first_purchase", "subscription"} <= set(actions)


def test_later_actions_pay_more_than_a_signup(full_catalog):
    for line in full_catalog:
        if line["type"] == "offer" and line["payout"]["type"] == "fixed":
            amounts = FixedPayout.model_validate(line["payout"]).amounts
            if "signup" in amounts and "subscription" in amounts:
                assert amounts["subscription"] > amounts["signup"]


def test_a_catalog_needs_a_partner_and_an_offer_per_partner():
    with pytest.raises(ValueError, match="at least one partner"):
        list(generate_catalog(0, seed=7))
    with pytest.raises(ValueError, match="offers must be >= partners"):
        list(generate_catalog(10, seed=7, offers=5))


def test_the_offer_count_can_be_chosen():
    lines = list(generate_catalog(10, seed=7, offers=35))
    assert Counter(line["type"] for line in lines) == {"partner": 10, "offer": 35}


def test_catalogs_of_different_sizes_never_give_an_offer_id_to_two_partners():
    # Given the README's small catalog and the full-size one, with the same seed
    small = {
        line["offer_id"]: line["partner_id"]
        for line in generate_catalog(50, seed=7)
        if line["type"] == "offer"
    }
    big = {
        line["offer_id"]: line["partner_id"]
        for line in generate_catalog(400, seed=7)
        if line["type"] == "offer"
    }
    # Then an offer id found in both belongs to the same partner (importing one after the other updates)
    assert small.keys() & big.keys()
    assert all(big[offer_id] == partner_id for offer_id, partner_id in small.items() if offer_id in big)
