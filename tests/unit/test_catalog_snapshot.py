"""The catalog snapshot: a round trip gives the same index, holds only what can show, and is reproducible."""

import gc
import gzip
import json
import typing

import pytest
from pydantic import BaseModel

from afterglow import catalog_snapshot
from afterglow.catalog import CatalogIndex
from afterglow.catalog_snapshot import (
    SnapshotUnreadable,
    build_snapshot,
    load_snapshot,
    open_snapshot,
    patch_snapshot,
)
from afterglow.models import Offer, Partner, PercentPayout, Retailer, Targeting
from tests.unit.builders import NOW, make_first_party_offer, make_offer, make_partner, make_retailer

RETAILERS = [make_retailer()]
PARTNERS = [make_partner("par_1"), make_partner("par_2", status="paused"), make_partner("par_idle")]
OFFERS = [
    make_offer("off_fixed", category="coffee", signup_payout=900),
    make_offer(
        "off_percent",
        category="kitchen",
        payout=PercentPayout(bps=1200, actions=["first_purchase", "subscription"]),
        targeting=Targeting(countries=["DE"], min_order_minor=2_000, starts_at=NOW),
        tags=["refill"],
        frequency_cap=2,
    ),
    make_offer("off_cheap", category="coffee", signup_payout=100),
    make_offer("off_paused", status="paused"),
    make_offer("off_of_paused_partner", partner_id="par_2"),
    make_first_party_offer("own_1", category="kitchen"),
    make_offer(
        "off_jersey", category="apparel", signup_payout=500, complements={"product_types": ["bicycle"]}
    ),
    make_offer("off_rack", category="home", signup_payout=700, complements={"categories": ["cycling"]}),
]


def _snapshot(version: int = 7) -> bytes:
    return build_snapshot(version, retailers=RETAILERS, partners=PARTNERS, offers=OFFERS)


def test_a_loaded_snapshot_is_the_index_built_from_the_catalog():
    expected = CatalogIndex.build(OFFERS, PARTNERS, RETAILERS, version=7)
    loaded = load_snapshot(_snapshot())
    assert loaded.version == 7
    assert loaded.offers == expected.offers
    assert loaded.by_category == expected.by_category
    assert loaded.retailers == expected.retailers
    assert loaded.complementing == expected.complementing
    assert loaded.complementing == {"category:cycling": ["off_rack"], "product_type:bicycle": ["off_jersey"]}


def test_the_retailers_salt_survives_the_round_trip():
    # A decision hashes customer ids with it, though ordinary dumps leave it out
    assert load_snapshot(_snapshot()).retailers["ret_1"].salt == "salt-1"


def test_only_showable_offers_and_their_partners_are_in_the_snapshot():
    contents = open_snapshot(_snapshot())
    assert {offer.offer_id for offer in contents.offers} == {
        "off_fixed",
        "off_percent",
        "off_cheap",
        "own_1",
        "off_jersey",
        "off_rack",
    }
    assert [partner.partner_id for partner in contents.partners] == ["par_1"]


def test_the_same_catalog_gives_the_same_bytes_whatever_the_order():
    shuffled = build_snapshot(7, retailers=RETAILERS, partners=PARTNERS[::-1], offers=OFFERS[::-1])
    assert shuffled == _snapshot()


def test_a_snapshot_is_a_json_header_line_then_each_categorys_offers_under_gzip():
    head, _, body = gzip.decompress(_snapshot()).partition(b"\n")
    header = json.loads(head)
    assert (header["format"], header["version"]) == (2, 7)
    start, end = header["categories"]["coffee"]
    assert [offer["offer_id"] for offer in json.loads(body[start:end])] == ["off_fixed", "off_cheap"]


def test_a_cold_start_reads_no_offer_until_a_decision_asks_for_its_category():
    index = load_snapshot(_snapshot())
    assert index.by_category.categories_read() == set()
    assert len(index.offers) == 6 and index.offer_categories["off_percent"] == "kitchen"
    assert [offer.offer_id for offer in index.by_category["coffee"]] == ["off_fixed", "off_cheap"]
    assert index.by_category.categories_read() == {"coffee"}
    assert index.offers["own_1"].kind == "first_party"  # looking an offer up reads its category
    assert index.by_category.categories_read() == {"coffee", "kitchen"}
    assert index.by_category.get("pets") is None and index.offers.get("off_paused") is None


def test_a_snapshot_written_for_another_offer_model_is_refused(monkeypatch):
    snapshot = _snapshot()
    monkeypatch.setattr(catalog_snapshot, "offer_schema_id", lambda: "another-model")
    with pytest.raises(SnapshotUnreadable):
        load_snapshot(snapshot)


@pytest.mark.parametrize("damage", [lambda b: b[:-20], lambda b: b"not gzip", lambda b: gzip.compress(b"{}")])
def test_a_damaged_snapshot_is_refused_not_half_loaded(damage):
    with pytest.raises(SnapshotUnreadable):
        load_snapshot(damage(_snapshot()))


def test_loading_leaves_the_garbage_collector_as_it_was():
    assert gc.isenabled()
    load_snapshot(_snapshot())
    assert gc.isenabled()
    gc.disable()
    try:
        load_snapshot(_snapshot())
        assert not gc.isenabled()
    finally:
        gc.enable()


def _models_reachable_from(*models: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending = list(models)
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        for field in model.model_fields.values():
            annotations = [field.annotation]
            while annotations:
                annotation = annotations.pop()
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    pending.append(annotation)
                annotations.extend(typing.get_args(annotation))
    return found


def test_every_field_that_may_be_none_defaults_to_none():
    # Snapshots leave None values out; that round-trips only while this holds
    for model in _models_reachable_from(Retailer, Partner, Offer):
        for name, field in model.model_fields.items():
            if type(None) in typing.get_args(field.annotation):
                assert not field.is_required() and field.default is None, f"{model.__name__}.{name}"


def test_a_cold_start_can_freeze_the_loaded_catalog_out_of_the_collectors_way():
    try:
        load_snapshot(_snapshot(), freeze=True)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def _replace(items, new, key):
    return [item for item in items if getattr(item, key) != getattr(new, key)] + [new]


@pytest.mark.parametrize(
    ("change", "partners_written", "offers_written"),
    [
        ("an offer moves category", [], [make_offer("off_fixed", category="kitchen", signup_payout=900)]),
        ("an offer is paused", [], [make_offer("off_cheap", category="coffee", status="paused")]),
        (
            "a new offer of an idle partner",
            [],
            [make_offer("off_new", partner_id="par_idle", category="pets")],
        ),
        ("a partner is paused", [make_partner("par_1", status="paused")], []),
        ("a first-party offer changes", [], [make_first_party_offer("own_1", category="coffee")]),
        (
            "an offer now complements more, and pays more",
            [],
            [
                make_offer(
                    "off_jersey",
                    category="apparel",
                    signup_payout=800,
                    complements={"product_types": ["bicycle"], "categories": ["cycling"]},
                )
            ],
        ),
        (
            "an offer complementing something is paused",
            [],
            [make_offer("off_rack", category="home", status="paused")],
        ),
    ],
)
def test_a_patched_snapshot_is_byte_for_byte_the_snapshot_of_the_whole_changed_catalog(
    change, partners_written, offers_written
):
    partners, offers = PARTNERS, OFFERS
    for partner in partners_written:
        partners = _replace(partners, partner, "partner_id")
    for offer in offers_written:
        offers = _replace(offers, offer, "offer_id")

    def more_partners(ids):  # the table, for owners the base snapshot does not hold
        return {p.partner_id: p for p in PARTNERS if p.partner_id in ids}

    patched = patch_snapshot(
        _snapshot(7), 8, partners=partners_written, offers=offers_written, more_partners=more_partners
    )
    assert patched == build_snapshot(8, retailers=RETAILERS, partners=partners, offers=offers), change
