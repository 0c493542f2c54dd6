"""Bulk import of a generated catalog on moto: all-or-nothing checks, idempotent writes, a fresh snapshot."""

import io
import json
from dataclasses import replace
from typing import Any

import boto3
import pytest

from afterglow.catalog_snapshot import build_snapshot, open_snapshot
from afterglow.models import Offer, OfferCreate, Partner, PartnerCreate, Retailer, StatusUpdate
from afterglow.services import catalog_entities, catalog_import, offers, partners, webhook_secrets
from afterglow.services.catalog_cache import catalog_cache
from afterglow.services.catalog_import import CatalogFileInvalid, import_catalog
from afterglow.services.snapshots import load_published_index
from afterglow.store import CatalogStore, Stores, get_stores
from afterglow_dev.catalog_generator import write_catalog
from tests.utils import seed_catalog

WRITE_CALLS = {"put_item", "batch_write_item", "transact_write_items", "update_item", "delete_item"}


class CountingClient:
    """A DynamoDB client that counts the write requests going through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name in WRITE_CALLS:
            self.writes += 1
        return attribute


@pytest.fixture(scope="module")
def catalog_lines() -> list[str]:
    """A generated catalog of 200 partners (870 offers): big enough for several batches."""
    out = io.StringIO()
    write_catalog(out, 200, seed=7)
    return out.getvalue().splitlines()


@pytest.fixture
def counted(aws: dict[str, str]) -> tuple[Stores, CountingClient]:
    """The stores, with a catalog whose DynamoDB calls are counted."""
    client = CountingClient(boto3.client("dynamodb"))
    return replace(get_stores(), catalog=CatalogStore(client, aws["CatalogTable"])), client


def _with(lines: list[str], number: int, **changes: Any) -> list[str]:
    """The lines with line `number` (1-based) changed."""
    record = json.loads(lines[number - 1])
    record.update(changes)
    return [*lines[: number - 1], json.dumps(record), *lines[number:]]


def _first_offer_line(lines: list[str]) -> int:
    return next(n for n, line in enumerate(lines, start=1) if '"type":"offer"' in line)


def test_import_creates_every_partner_and_offer_and_announces_them(stores, catalog_lines):
    report = import_catalog(stores, catalog_lines)
    assert report.created == {"partner": 200, "offer": 870}
    assert report.conflicts == []
    assert len(stores.catalog.all_of("PARTNER")) == 200
    assert len(stores.catalog.all_of("OFFER")) == 870
    assert stores.catalog.version() == report.version_bumps >= 1
    assert report.snapshot_version == stores.catalog.version()


def test_reimporting_the_same_file_writes_nothing(stores, counted, catalog_lines):
    # Given the catalog imported once
    import_catalog(stores, catalog_lines)
    version = stores.catalog.version()
    counting, client = counted
    # When the same file is imported again
    report = import_catalog(counting, catalog_lines)
    # Then nothing was written, not even a version bump
    assert client.writes == 0
    assert report.write_calls == 0
    assert report.unchanged == {"partner": 200, "offer": 870}
    assert stores.catalog.version() == version


def test_imported_offers_show_up_in_the_catalog_index(stores, catalog_lines):
    import_catalog(stores, catalog_lines)
    index = catalog_cache.refresh_to(stores.catalog, stores.catalog.version())
    assert len(index.offers) == 870
    coffee = {json.loads(line)["offer_id"] for line in catalog_lines if '"category":"coffee"' in line}
    assert coffee and coffee <= {offer.offer_id for offer in index.candidates_for({"coffee"})}
    offer = index.offers["off_gen_00001_01"]
    assert offer.attribution_window_days >= 1  # the partner's default when the line has none


def test_the_published_snapshot_holds_the_imported_catalog(stores, catalog_lines):
    import_catalog(stores, catalog_lines)
    version = stores.catalog.version()
    from_snapshot = load_published_index(stores.catalog, version)
    from_table = catalog_cache.refresh_to(stores.catalog, version)
    assert from_snapshot is not None
    assert from_snapshot.offers == from_table.offers
    assert from_snapshot.by_category == from_table.by_category


def test_bad_lines_are_all_reported_with_their_numbers_and_nothing_is_imported(counted, catalog_lines):
    # Given a file whose lines 3, 5, 6, 7, 9 and 10 are bad in different ways
    offer_line = json.loads(catalog_lines[_first_offer_line(catalog_lines) - 1])
    lines = [
        catalog_lines[0],
        catalog_lines[1],
        '{"type": "partner", "partner_id": "par_x"',  # 3: cut short
        "",  # 4: blank lines are fine
        '["not", "an", "object"]',  # 5
        json.dumps({"type": "retailer", "retailer_id": "ret_1"}),  # 6: not importable
        json.dumps({**offer_line, "offer_id": "off_a", "category": "spaceships"}),  # 7
        json.dumps({**offer_line, "offer_id": "off_b"}),  # 8: fine
        json.dumps({**offer_line, "offer_id": "off_c", "partner_id": "par_nobody"}),  # 9
        catalog_lines[1],  # 10: the partner of line 2 again
        json.dumps({**offer_line, "offer_id": "off_d", "payout": {"type": "fixed", "currency": "EUR"}}),  # 11
    ]
    counting, client = counted
    # When it is imported
    with pytest.raises(CatalogFileInvalid) as invalid:
        import_catalog(counting, lines)
    # Then every bad line is reported, in order, naming the field where there is one
    errors = invalid.value.errors
    assert sorted({error.line for error in errors}) == [3, 5, 6, 7, 9, 10, 11]
    fields = {(error.line, error.field) for error in errors}
    assert {
        (6, "type"),
        (7, "category"),
        (9, "partner_id"),
        (10, "partner_id"),
        (11, "payout.fixed.amounts"),
    } <= fields
    assert "line 10, partner_id: duplicate partner_id" in str(next(e for e in errors if e.line == 10))
    # And nothing at all was written
    assert client.writes == 0
    assert counting.catalog.all_of("PARTNER") == []
    assert counting.catalog.version() == 0


def test_a_changed_line_updates_the_offer_and_keeps_what_the_file_does_not_say(stores, catalog_lines):
    # Given an imported offer that an operator then paused
    import_catalog(stores, catalog_lines)
    number = _first_offer_line(catalog_lines)
    offer_id = json.loads(catalog_lines[number - 1])["offer_id"]
    before = offers.set_offer_status(stores, offer_id, StatusUpdate(version=1, status="paused"))
    # When the file changes that offer's title and is imported again
    creative = {**json.loads(catalog_lines[number - 1])["creative"], "title": "A better title"}
    report = import_catalog(stores, _with(catalog_lines, number, creative=creative))
    # Then the offer has the new title, is still paused, and kept its creation time
    assert report.updated == {"partner": 0, "offer": 1}
    assert report.unchanged == {"partner": 200, "offer": 869}
    after = catalog_entities.load_offer(stores.catalog, offer_id)
    assert after.creative.title == "A better title"
    assert after.status == "paused"
    assert after.created_at == before.created_at
    assert after.version == before.version + 1
    # And the snapshot published after the import says the same as the table
    stored = stores.catalog.read_snapshot(stores.catalog.version())
    assert stored is not None and stored[1] == _rebuilt_from_table(stores.catalog, stored[0])


def test_an_entity_changed_elsewhere_but_equal_to_its_line_is_not_rewritten(stores, counted, catalog_lines):
    # Given an imported partner that was paused and resumed through the admin API
    import_catalog(stores, catalog_lines)
    for version, status in ((1, "paused"), (2, "active")):
        partners.set_partner_status(stores, "par_gen_00001", StatusUpdate(version=version, status=status))
    counting, client = counted
    # When the same file is imported again, the partner is compared in full and left alone
    report = import_catalog(counting, catalog_lines)
    assert report.unchanged == {"partner": 200, "offer": 870}
    assert client.writes == 0


def test_an_edit_between_comparing_and_writing_is_a_conflict_not_overwritten(
    stores, catalog_lines, monkeypatch
):
    # Given an imported catalog, and a file that renames the first partner
    import_catalog(stores, catalog_lines)
    renamed = _with(catalog_lines, 1, name="Renamed Brand")
    plan_import = catalog_import.plan_import

    def an_operator_pauses_it_meanwhile(*args: Any, **kwargs: Any) -> Any:
        plan = plan_import(*args, **kwargs)
        partners.set_partner_status(stores, "par_gen_00001", StatusUpdate(version=1, status="paused"))
        return plan

    monkeypatch.setattr(catalog_import, "plan_import", an_operator_pauses_it_meanwhile)
    # When the import writes
    report = import_catalog(stores, renamed)
    # Then the operator's change stands and the import reports the conflict
    assert report.conflicts == ["partner par_gen_00001"]
    partner = catalog_entities.load_partner(stores.catalog, "par_gen_00001")
    assert (partner.status, partner.name) == ("paused", json.loads(catalog_lines[0])["name"])


@pytest.mark.parametrize("rotation", ["removes the old secret", "adds a new secret"])
def test_an_import_racing_a_secret_rotation_never_restores_or_drops_a_secret(
    stores, catalog_lines, monkeypatch, rotation
):
    # Given an imported partner in mid-rotation (two secrets), and a file that renames it
    import_catalog(stores, catalog_lines)
    first = webhook_secrets.add_webhook_secret(stores, "par_gen_00001").secret_id
    second = webhook_secrets.add_webhook_secret(stores, "par_gen_00001").secret_id
    renamed = _with(catalog_lines, 1, name="Renamed Brand")
    plan_import = catalog_import.plan_import
    rotated: list[str] = []

    def the_partner_rotates_meanwhile(*args: Any, **kwargs: Any) -> Any:
        plan = plan_import(*args, **kwargs)
        if rotation == "removes the old secret":
            webhook_secrets.remove_webhook_secret(stores, "par_gen_00001", first)
        else:
            rotated.append(webhook_secrets.add_webhook_secret(stores, "par_gen_00001").secret_id)
        return plan

    monkeypatch.setattr(catalog_import, "plan_import", the_partner_rotates_meanwhile)
    # When the import writes what it planned before the rotation
    report = import_catalog(stores, renamed)
    # Then the secrets are those the rotation left, whether the rename landed or was a conflict
    expected = [second] if rotation == "removes the old secret" else [first, second, *rotated]
    secrets = [s.secret_id for s in webhook_secrets.list_webhook_secrets(stores, "par_gen_00001").items]
    assert secrets == expected
    # And importing again applies the file on top of the rotation, secrets untouched
    monkeypatch.setattr(catalog_import, "plan_import", plan_import)
    if report.conflicts:
        import_catalog(stores, renamed)
    assert catalog_entities.load_partner(stores.catalog, "par_gen_00001").name == "Renamed Brand"
    assert [
        s.secret_id for s in webhook_secrets.list_webhook_secrets(stores, "par_gen_00001").items
    ] == expected


def test_an_import_cannot_move_an_offer_to_another_partner(stores, counted, catalog_lines):
    import_catalog(stores, catalog_lines)
    number = _first_offer_line(catalog_lines)
    counting, client = counted
    moved = _with(catalog_lines, number, partner_id="par_gen_00002")
    if json.loads(catalog_lines[number - 1])["partner_id"] == "par_gen_00002":
        moved = _with(catalog_lines, number, partner_id="par_gen_00003")
    with pytest.raises(CatalogFileInvalid) as invalid:
        import_catalog(counting, moved)
    assert [(error.line, error.field) for error in invalid.value.errors] == [(number, "partner_id")]
    assert client.writes == 0


def test_offers_may_belong_to_a_partner_already_in_the_catalog(stores):
    # Given a partner created through the admin API, with a 14-day attribution window
    partner = partners.create_partner(
        stores, PartnerCreate(name="Bean Post", default_attribution_window_days=14)
    )
    offer = OfferCreate(
        partner_id=partner.partner.partner_id,
        category="coffee",
        creative={"title": "First bag free"},
        landing_url="https://beanpost.example/welcome",
        payout={"type": "fixed", "currency": "EUR", "amounts": {"signup": 500}},
    )
    line = json.dumps({"type": "offer", "offer_id": "off_import_1", **offer.model_dump(mode="json")})
    # When a file with only its offer is imported
    report = import_catalog(stores, [line])
    # Then the offer is created with the partner's window
    assert report.created == {"partner": 0, "offer": 1}
    assert catalog_entities.load_offer(stores.catalog, "off_import_1").attribution_window_days == 14


def test_an_import_never_overwrites_a_retailers_own_offer(stores):
    # Given a retailer's own product stored under an id a file also uses
    stores.catalog.create(
        "OFFER",
        "own_1",
        {"offer_id": "own_1", "partner_id": "ret_1", "kind": "first_party", "version": 1},
    )
    partner = json.dumps({"type": "partner", "partner_id": "par_1", "name": "Beans"})
    offer = json.dumps(
        {
            "type": "offer",
            "offer_id": "own_1",
            "partner_id": "par_1",
            "category": "coffee",
            "creative": {"title": "Beans"},
            "landing_url": "https://beans.example/",
            "payout": {"type": "percent", "bps": 500},
        }
    )
    with pytest.raises(CatalogFileInvalid) as invalid:
        import_catalog(stores, [partner, offer])
    assert [(error.line, error.field) for error in invalid.value.errors] == [(2, "offer_id")]


def _rebuilt_from_table(catalog: CatalogStore, version: int) -> bytes:
    entities = catalog.scan_entities(["RETAILER", "PARTNER", "OFFER"])
    return build_snapshot(
        version,
        retailers=[Retailer.model_validate(item) for item in entities["RETAILER"]],
        partners=[Partner.model_validate(item) for item in entities["PARTNER"]],
        offers=[Offer.model_validate(item) for item in entities["OFFER"]],
    )


def test_the_snapshot_after_an_import_equals_one_built_from_the_whole_table(
    stores, catalog_lines, monkeypatch
):
    # Given a catalog that already holds a retailer, a partner and an offer (each admin write
    # published a snapshot)
    seed_catalog(stores)
    # When a file is imported, announced every 300 entities (the snapshot is then the earlier
    # one plus the import's own writes)
    monkeypatch.setattr(catalog_import, "VERSION_BUMP_EVERY", 300)
    scans: list[Any] = []
    scan = stores.catalog.scan_entities
    monkeypatch.setattr(stores.catalog, "scan_entities", lambda *a: scans.append(a) or scan(*a))
    report = import_catalog(stores, catalog_lines)
    assert report.version_bumps == 4  # 1,070 entities
    assert scans == []  # built on the published snapshot: never a scan of the whole table
    # Then it is byte for byte the snapshot of the whole table
    stored = stores.catalog.read_snapshot(stores.catalog.version())
    assert stored is not None
    assert stored[1] == _rebuilt_from_table(stores.catalog, stored[0])


def test_a_change_made_during_the_import_is_in_the_snapshot_too(stores, catalog_lines, monkeypatch):
    write_group = catalog_import._write_group
    seeded: list[Any] = []

    def someone_adds_an_offer_meanwhile(*args: Any, **kwargs: Any) -> Any:
        written = write_group(*args, **kwargs)
        seeded.append(seed_catalog(stores, category="pets"))
        return written

    monkeypatch.setattr(catalog_import, "_write_group", someone_adds_an_offer_meanwhile)
    report = import_catalog(stores, catalog_lines)
    index = load_published_index(stores.catalog, stores.catalog.version())
    assert report.snapshot_version == stores.catalog.version()
    assert index is not None and seeded[0].offer_id in index.offers


def test_the_snapshot_after_an_update_holds_the_updated_entity(stores, catalog_lines):
    import_catalog(stores, catalog_lines)
    report = import_catalog(stores, _with(catalog_lines, 1, name="Renamed Brand"))
    assert report.updated == {"partner": 1, "offer": 0}
    stored = stores.catalog.read_snapshot(stores.catalog.version())
    assert stored is not None and stored[1] == _rebuilt_from_table(stores.catalog, stored[0])
    partner = next(p for p in open_snapshot(stored[1]).partners if p.partner_id == "par_gen_00001")
    assert (partner.name, partner.version) == ("Renamed Brand", 2)
