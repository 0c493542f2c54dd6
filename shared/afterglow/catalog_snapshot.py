"""A compact, versioned snapshot of the active catalog: what a cold `decide` loads in one read
instead of querying every retailer, partner and offer.

The snapshot holds the retailers (with their customer-hashing salt, which a decision needs), the
active partners that own a showable offer, and the showable offers — exactly what
`CatalogIndex.build` keeps, so an index loaded from a snapshot equals the index built from the
table. Building is deterministic: the same catalog at the same version gives the same bytes.

Layout, gzip-compressed: one line of JSON (the header: retailers, partners, and for every offer
its category and owner, plus where each category's offers are), then each category's offers as a
JSON array, one after the other. A cold start reads only the header (tens of milliseconds); a
category's offers are validated the first time a decision asks for that category, so a function
never pays for the 20,000 offers it does not show.
"""

import gc
import gzip
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from afterglow.catalog import CatalogIndex, headline_value
from afterglow.models import Offer, Partner, Retailer

SNAPSHOT_FORMAT = 2
_OFFERS = TypeAdapter(list[Offer])


class SnapshotUnreadable(ValueError):
    """The bytes are not a snapshot this code can read (corrupt, truncated or another format)."""


class _Header(BaseModel):
    format: Literal[2]
    offer_schema: str
    version: int
    retailers: list[Retailer]
    partners: list[Partner]
    categories: dict[str, tuple[int, int]]  # category -> (start, end) of its offers in the body
    offers: dict[str, tuple[str, str]]  # offer id -> (category, owner)
    # what offers complement -> [(offer id, headline value)], best paying first (older snapshots: none)
    complementing: dict[str, list[tuple[str, int]]] = {}


@cache
def offer_schema_id() -> str:
    """A fingerprint of the offer model: a snapshot written by code with another model is refused
    at load (and the catalog read from the table), never half-read at decision time."""
    schema = json.dumps(_OFFERS.json_schema(), sort_keys=True).encode()
    return hashlib.sha256(schema).hexdigest()[:16]


def build_snapshot(
    version: int,
    *,
    retailers: Sequence[Retailer],
    partners: Sequence[Partner],
    offers: Sequence[Offer],
) -> bytes:
    """The snapshot of catalog `version`: only what a decision can show.

    None values are left out (a sixth smaller, a fifth faster to load): every field that may be
    None defaults to None, so a loaded snapshot is equal to what was dumped (a test checks this).
    """
    index = CatalogIndex.build(offers, partners, retailers, version=version)
    blobs = {category: _category_blob(index.by_category[category]) for category in index.by_category}
    return _assemble(
        version, index.retailers, index.partners, blobs, _offer_keys(index), _complement_entries(index)
    )


def patch_snapshot(
    base: bytes,
    version: int,
    *,
    retailers: Sequence[Retailer] = (),
    partners: Sequence[Partner] = (),
    offers: Sequence[Offer] = (),
    more_partners: Callable[[set[str]], Mapping[str, Partner]],
) -> bytes:
    """The snapshot of `version` = snapshot `base` with these retailers, partners and offers
    written since (new or changed), byte for byte what `build_snapshot` of the whole catalog
    gives. Only the categories the changes touch are read and written again; the others are
    copied as they are. `more_partners(ids)` looks up owners the base does not hold (it keeps
    only owners of showable offers). Not for a partner that comes back from a pause: its offers
    are not in the base, so callers publish from a full scan then (as `admin.set_status` does)."""
    header, body = _read(base)
    all_retailers = {retailer.retailer_id: retailer for retailer in header.retailers}
    all_retailers.update({retailer.retailer_id: retailer for retailer in retailers})
    all_partners = {partner.partner_id: partner for partner in header.partners}
    all_partners.update({partner.partner_id: partner for partner in partners})
    keys = dict(header.offers)
    changed = {offer.offer_id: offer for offer in offers}
    # The categories to rebuild: where changed offers were and are, and every category holding an
    # offer of a changed partner (a pause takes them all out).
    changed_owners = {partner.partner_id for partner in partners}
    touched = {offer.category for offer in offers}
    touched |= {keys[offer_id][0] for offer_id in changed if offer_id in keys}
    touched |= {category for category, owner in keys.values() if owner in changed_owners}
    kept: list[Offer] = list(changed.values())
    for category in touched & set(header.categories):
        start, end = header.categories[category]
        kept += [o for o in _OFFERS.validate_json(body[start:end]) if o.offer_id not in changed]
    owners = {offer.partner_id for offer in kept if offer.kind == "partner"}
    all_partners.update(more_partners(owners - set(all_partners)))
    rebuilt = CatalogIndex.build(kept, list(all_partners.values()), version=version)
    blobs = {
        category: body[start:end]
        for category, (start, end) in header.categories.items()
        if category not in touched
    }
    blobs.update(
        {category: _category_blob(rebuilt.by_category[category]) for category in rebuilt.by_category}
    )
    complementing = {
        key: [entry for entry in entries if keys[entry[0]][0] not in touched]
        for key, entries in header.complementing.items()
    }
    for key, entries in _complement_entries(rebuilt).items():
        complementing.setdefault(key, []).extend(entries)
    keys = {offer_id: key for offer_id, key in keys.items() if key[0] not in touched}
    keys.update(_offer_keys(rebuilt))
    return _assemble(version, all_retailers, all_partners, blobs, keys, complementing)


def _category_blob(offers: Sequence[Offer]) -> bytes:
    dumped = [offer.model_dump(mode="json", exclude_none=True) for offer in offers]
    return json.dumps(dumped, ensure_ascii=False, separators=(",", ":")).encode()


def _offer_keys(index: CatalogIndex) -> dict[str, tuple[str, str]]:
    return {
        offer_id: (index.offer_categories[offer_id], index.offer_owners[offer_id])
        for offer_id in index.offer_categories
    }


def _complement_entries(index: CatalogIndex) -> dict[str, list[tuple[str, int]]]:
    return {
        key: [(offer_id, headline_value(index.offers[offer_id])) for offer_id in offer_ids]
        for key, offer_ids in index.complementing.items()
    }


def _assemble(
    version: int,
    retailers: Mapping[str, Retailer],
    partners: Mapping[str, Partner],
    blobs: Mapping[str, bytes],
    keys: Mapping[str, tuple[str, str]],
    complementing: Mapping[str, list[tuple[str, int]]],
) -> bytes:
    """Header line + category blobs in category order, gzip: the one way a snapshot is laid out.
    Only partners that own an offer in it are kept."""
    body = bytearray()
    spans: dict[str, tuple[int, int]] = {}
    for category in sorted(blobs):
        spans[category] = (len(body), len(body) + len(blobs[category]))
        body += blobs[category]
    owners = {owner for _, owner in keys.values()}
    header = {
        "format": SNAPSHOT_FORMAT,
        "offer_schema": offer_schema_id(),
        "version": version,
        # Retailers whole, salt included: a decision hashes customer ids with it.
        "retailers": [
            retailers[retailer_id].model_dump(mode="json", exclude_none=True)
            for retailer_id in sorted(retailers)
        ],
        "partners": [
            partners[partner_id].model_dump(mode="json", exclude_none=True)
            for partner_id in sorted(partners)
            if partner_id in owners
        ],
        "categories": spans,
        "offers": {offer_id: keys[offer_id] for offer_id in sorted(keys)},
        "complementing": {
            key: sorted(entries, key=lambda entry: (-entry[1], entry[0]))
            for key, entries in sorted(complementing.items())
            if entries
        },
    }
    head = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()  # no raw newline
    return gzip.compress(head + b"\n" + bytes(body), compresslevel=9, mtime=0)


def snapshot_id(snapshot: bytes) -> str:
    """A short content hash: two different snapshots of one version never share storage keys."""
    return hashlib.sha256(snapshot).hexdigest()[:16]


@dataclass(frozen=True)
class SnapshotContents:
    """What a snapshot holds, every offer read."""

    version: int
    retailers: list[Retailer]
    partners: list[Partner]
    offers: list[Offer]


def _read(snapshot: bytes) -> tuple[_Header, bytes]:
    try:
        raw = gzip.decompress(snapshot)  # checks the CRC: damaged bytes never get further
    except (OSError, EOFError) as error:
        raise SnapshotUnreadable(f"not a gzip snapshot: {error}") from error
    head, newline, body = raw.partition(b"\n")
    try:
        header = _Header.model_validate_json(head)
    except ValidationError as error:
        raise SnapshotUnreadable(f"not a catalog snapshot of format {SNAPSHOT_FORMAT}") from error
    if header.offer_schema != offer_schema_id():
        raise SnapshotUnreadable("written for another version of the offer model")
    if not newline or any(end > len(body) or start > end for start, end in header.categories.values()):
        raise SnapshotUnreadable("the offers part is truncated")
    return header, body


class LazyCategories(Mapping[str, list[Offer]]):
    """A snapshot's offers by category, each category validated when first asked for."""

    def __init__(self, body: bytes, spans: dict[str, tuple[int, int]]) -> None:
        self._body = body
        self._spans = spans
        self._read: dict[str, list[Offer]] = {}

    def __getitem__(self, category: str) -> list[Offer]:
        offers = self._read.get(category)
        if offers is None:
            start, end = self._spans[category]  # KeyError for a category with no offers
            with _collector_paused():
                offers = _OFFERS.validate_json(self._body[start:end])
            self._read[category] = offers
        return offers

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def categories_read(self) -> set[str]:
        """The categories validated so far."""
        return set(self._read)


class LazyOffers(Mapping[str, Offer]):
    """A snapshot's offers by id: looking one up reads (once) the category it is in."""

    def __init__(self, by_category: LazyCategories, offer_categories: dict[str, str]) -> None:
        self._by_category = by_category
        self._offer_categories = offer_categories
        self._by_id: dict[str, Offer] = {}

    def __getitem__(self, offer_id: str) -> Offer:
        offer = self._by_id.get(offer_id)
        if offer is None:
            for found in self._by_category[self._offer_categories[offer_id]]:
                self._by_id[found.offer_id] = found
            offer = self._by_id[offer_id]
        return offer

    def __iter__(self) -> Iterator[str]:
        return iter(self._offer_categories)

    def __len__(self) -> int:
        return len(self._offer_categories)


def open_snapshot(snapshot: bytes) -> SnapshotContents:
    """Everything in a snapshot, every offer validated; `SnapshotUnreadable` if it cannot be read."""
    index = load_snapshot(snapshot)
    try:
        offers = [offer for category in index.by_category for offer in index.by_category[category]]
    except ValidationError as error:
        raise SnapshotUnreadable("an offer in the snapshot is not valid") from error
    return SnapshotContents(
        index.version, list(index.retailers.values()), list(index.partners.values()), offers
    )


def load_snapshot(snapshot: bytes, *, freeze: bool = False) -> CatalogIndex:
    """The in-memory catalog index from a snapshot; `SnapshotUnreadable` if it cannot be read.
    Offers are validated category by category as decisions ask for them.

    `freeze=True` is for a function's cold start: it moves every object the process holds (the
    imported code and the new catalog) to the garbage collector's permanent generation, so no
    later collection walks them again. Frozen objects are still freed by reference counting when
    the catalog is replaced; only reference cycles among them never are.
    """
    with _collector_paused():
        header, body = _read(snapshot)
        by_category = LazyCategories(body, header.categories)
        offer_categories = {offer_id: category for offer_id, (category, _) in header.offers.items()}
        index = CatalogIndex(
            version=header.version,
            retailers={retailer.retailer_id: retailer for retailer in header.retailers},
            offers=LazyOffers(by_category, offer_categories),
            by_category=by_category,
            partners={partner.partner_id: partner for partner in header.partners},
            offer_categories=offer_categories,
            offer_owners={offer_id: owner for offer_id, (_, owner) in header.offers.items()},
            complementing={
                key: [offer_id for offer_id, _ in entries] for key, entries in header.complementing.items()
            },
        )
        if freeze:
            gc.freeze()
    return index


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Tens of thousands of new objects would trigger several full garbage collections, each
    # walking everything already in memory: pausing the collector makes a load ~2x faster.
    # Nothing here creates reference cycles, so there is nothing for it to find meanwhile.
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
