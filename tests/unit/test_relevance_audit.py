"""The relevance audit on the generated 4,600-partner catalog: thirty realistic orders, the slate
each gets, and none of the misfits seen by hand (pet cover after a bicycle, gadget cover after a
tent, partner subscriptions on gift orders, the product type just bought)."""

import io
import re

import pytest

from afterglow.catalog import CatalogIndex
from afterglow.cli import main
from afterglow.rules import is_giftable, is_refill_or_subscription, offer_product_type
from afterglow.services.relevance_audit import (
    SAMPLE_ORDERS,
    AuditedOrder,
    audit_retailer,
    audit_sample,
    index_from_catalog_lines,
    misfits,
    render,
)
from afterglow_dev.catalog_generator import write_catalog, write_catalog_file

PETS = re.compile(r"\b(pet|dog|cat|vet)\b", re.IGNORECASE)
GADGETS = re.compile(r"\b(gadget|phone|warranty)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def generated() -> CatalogIndex:
    """The catalog `afterglow catalog generate` writes by default (4,600 partners, 20,000 offers)."""
    out = io.StringIO()
    write_catalog(out, 4_600, seed=7)
    return index_from_catalog_lines(out.getvalue().splitlines())


@pytest.fixture(scope="module")
def audited(generated) -> list[AuditedOrder]:
    return audit_sample(generated)


def _titles(item: AuditedOrder) -> list[str]:
    return [f"{s.offer.creative.title} {s.offer.creative.body}" for s in item.shown]


def test_the_sample_is_thirty_realistic_orders_across_categories(audited):
    assert len(audited) == len(SAMPLE_ORDERS) == 30
    categories = {category for item in audited for _, category, _ in item.order.items}
    assert len(categories) >= 20
    assert any(item.order.gift for item in audited) and any(item.order.segment for item in audited)
    # And every order gets a full slate from the generated catalog, each offer with its reasons
    assert all(len(item.shown) == 3 for item in audited)


def test_no_pet_insurance_after_a_bike_unless_the_customer_says_pets(audited):
    bikes = [item for item in audited if "bicycle" in item.context.purchased_types]
    without_pets = [item for item in bikes if item.order.goal != "pets"]
    assert len(without_pets) >= 3
    for item in without_pets:
        assert not any(PETS.search(text) for text in _titles(item)), _titles(item)
    # The customer whose answer names pets may be offered pet cover: it is relevant to them
    with_pets = next(item for item in bikes if item.order.goal == "pets")
    assert any(PETS.search(text) and "cover" in text.lower() for text in _titles(with_pets))


def test_no_gadget_insurance_after_a_tent(audited):
    tents = [item for item in audited if "tent" in item.context.purchased_types]
    assert len(tents) >= 2
    for item in tents:
        assert not any(GADGETS.search(text) for text in _titles(item)), _titles(item)


def test_no_partner_refill_or_subscription_on_a_gift_order_unless_it_is_one_to_give(audited):
    gifts = [item for item in audited if item.order.gift]
    assert len(gifts) >= 8
    for item in gifts:
        for shown in item.shown:
            offer = shown.offer
            assert offer.kind != "partner" or not is_refill_or_subscription(offer) or is_giftable(offer)


def test_nothing_of_the_product_type_just_bought(audited):
    for item in audited:
        assert all(offer_product_type(s.offer) not in item.context.purchased_types for s in item.shown)
    # e.g. coffee beans: no beans subscription, and the refusal is in the audit for a reviewer to read
    beans = next(item for item in audited if "coffee_beans" in item.context.purchased_types)
    assert "already_bought_product_type" in {reason for _, reason in beans.notable_refusals}


def test_the_audit_finds_no_obvious_misfit_and_says_why_each_offer_shows(audited):
    assert misfits(audited) == []
    # Not even among the offers each slate was ranked from: a learning policy may rank any first
    assert misfits(audited, among_eligible=True) == []
    text = render(audited)
    assert text.count("why: relevance") == 90
    assert "obvious misfits: 0 (none)" in text


def test_the_same_catalog_without_what_offers_declare_shows_the_misfits(generated):
    # Given the generated offers stripped of offer_type, product_type, complements and giftable
    # (what an old catalog looks like), the misfits the rules now prevent come back: the audit's
    # checker is not satisfied by construction
    bare = [
        offer.model_copy(
            update={"offer_type": None, "product_type": None, "complements": None, "giftable": False}
        )
        for offer in generated.offers.values()
    ]
    old = CatalogIndex.build(bare, list(generated.partners.values()), [audit_retailer()])
    found = misfits(audit_sample(old), among_eligible=True)
    assert any("pet insurance" in line for line in found)
    assert any("gadget insurance" in line for line in found)


def test_afterglow_audit_sample_prints_a_catalog_files_audit(tmp_path, capsys):
    # Given a generated catalog file
    path = tmp_path / "catalog.jsonl"
    write_catalog_file(path, 400, seed=7)
    # When an operator runs `afterglow audit --sample --catalog catalog.jsonl`
    assert main(["audit", "--sample", "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    # Then thirty numbered orders with what was bought and what is shown, and the misfits line
    assert out.count(" — ") >= 30 and " 1. Gazelle Medeo city bike (cycling) — bicycle" in out
    assert "30. Rain jacket Storm (apparel)" in out
    assert "obvious misfits: 0 (none)" in out


def test_afterglow_audit_without_a_retailer_or_sample_is_a_usage_error(capsys):
    assert main(["audit"]) == 2
    assert "name a retailer" in capsys.readouterr().err
