"""Bulk catalog import (`afterglow catalog import FILE`): check everything, then write what changed.

The file is JSONL, one entity a line, as `afterglow catalog generate` writes it:
`{"type": "partner", "partner_id": …, <PartnerCreate fields>}` and
`{"type": "offer", "offer_id": …, <OfferCreate fields>}`. Blank lines are ignored.

1. **Check every line first**: JSON, `type`, id, the PartnerCreate/OfferCreate model, duplicate
   ids, the offer's partner (in the file or already in the catalog), and that an import neither
   moves a stored offer to another partner nor touches a retailer's own offer. Every bad line is
   reported with its number (`CatalogFileInvalid`), and then nothing at all is written.
2. **Compare** each entity with what is stored and **write only new and changed ones**, partners
   before offers. Re-importing the same file reads and compares, and writes nothing at all.

Comparing is cheap: every entity an import writes carries `import_fingerprint`, its version and a
hash of its content. The comparison first reads only `version` and that fingerprint (strongly
consistent BatchGetItem); when the fingerprint matches the line and the version, nobody changed the
entity since this import wrote it. Only the others (changed since, or created through the admin
API) are read in full and compared field by field.

A changed entity is **updated**: the file is the source of truth for the fields it carries.
Everything else is kept — status (what an operator paused stays paused), webhook secrets,
`created_at`, and attributes added by later features. Each update is a put conditional on the
version compared against (and on a partner's webhook secrets, which rotate without a new version),
so an edit or a secret rotation that lands between the comparison and the write is never
overwritten: it is reported as a conflict, and re-running the import applies the file on top of it.
A new partner gets no webhook secret: one is issued (and shown, once) by rotating its secret.

New entities go out in BatchWriteItem calls of 25. BatchWriteItem cannot be conditional, which is
safe here: the ids were just read as absent, and only an import names its own ids (the admin API
mints random ones), so the only possible race is a second import writing the same line.
TransactWriteItems (conditional, 100 items) was measured and rejected: moto deep-copies the whole
table for every item of a transaction, so a 24,600-entity import had not finished after six
minutes; on AWS it also costs twice the write units, for nothing the checks above do not give.

Warm functions learn about the import from the catalog version: one bump after every
`VERSION_BUMP_EVERY` entities written and one at the end (also when an error stops the import),
rather than one per call, because each bump makes every warm `decide` reload the catalog. The
import then publishes a fresh catalog snapshot, so that reload is a single read. The snapshot is
built from the one published before the import plus what the import wrote — no second read of
the whole catalog — whenever the version proves that nothing else changed meanwhile.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from afterglow.catalog_import_checks import (
    CatalogLine,
    LineError,
    OfferLine,
    PartnerLine,
    check_catalog_lines,
    content_hash,
    entity_content,
)
from afterglow.errors import InvalidInput, Problem
from afterglow.models import CatalogImportResult, Offer, Partner, PartnerCreate
from afterglow.services.snapshots import publish_snapshot, publish_snapshot_with_changes
from afterglow.store import CatalogStore, Stores
from afterglow.store.entities import offer_item, partner_item

__all__ = ["CatalogFileInvalid", "ImportReport", "LineError", "import_catalog"]

NEW_PER_CALL = 25  # BatchWriteItem's limit
VERSION_BUMP_EVERY = 5_000  # entities written between two catalog-version bumps
READ_PROGRESS_EVERY = 1_000  # entities compared between two progress reports
FINGERPRINT = "import_fingerprint"  # "<version>:<content hash>" of what an import last wrote

ProgressCallback = Callable[[str, int, int], None]
"""Called as `progress(phase, done, total)`; phase is "checking" (lines), "comparing" or
"writing" (entities)."""

Kind = Literal["partner", "offer"]
Key = tuple[Kind, str]


class CatalogFileInvalid(InvalidInput):
    """Some lines are bad; nothing was imported. `errors` lists every one, in line order (the
    API answers 422 with each as a problem of the error body)."""

    def __init__(self, errors: list[LineError]) -> None:
        self.errors = errors
        super().__init__(
            f"{len(errors)} problem(s) in the catalog file; nothing was imported",
            field="body",
            problems=[Problem(message=error.message, field=error.field, line=error.line) for error in errors],
        )


@dataclass(frozen=True)
class PlannedWrite:
    """One entity to write: new (`expected_version` None) or an update of the version compared."""

    kind: Kind
    entity_id: str
    body: dict[str, Any]
    expected_version: int | None

    @property
    def entity(self) -> str:
        return self.kind.upper()


@dataclass
class ImportReport:
    """What an import did. `write_calls` counts DynamoDB write requests, version bumps included
    (0 for a re-import of the same file; the snapshot is not counted)."""

    created: dict[str, int] = field(default_factory=lambda: {"partner": 0, "offer": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"partner": 0, "offer": 0})
    unchanged: dict[str, int] = field(default_factory=lambda: {"partner": 0, "offer": 0})
    conflicts: list[str] = field(default_factory=list)
    write_calls: int = 0
    version_bumps: int = 0
    snapshot_version: int | None = None

    @property
    def written(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())

    def result(self) -> CatalogImportResult:
        """What the API answers for this import."""
        return CatalogImportResult(
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            conflicts=self.conflicts,
            write_calls=self.write_calls,
            snapshot_version=self.snapshot_version,
        )

    def summary(self) -> str:
        """One line for people: what was created, updated, left alone and refused."""
        counts = (("created", self.created), ("updated", self.updated), ("unchanged", self.unchanged))
        parts = [f"{what}: {n['partner']} partners, {n['offer']} offers" for what, n in counts]
        return "; ".join([*parts, f"conflicts: {len(self.conflicts)}"])


def import_catalog(
    stores: Stores,
    lines: Iterable[str],
    *,
    progress: ProgressCallback | None = None,
    now: datetime | None = None,
    publish: bool = True,
) -> ImportReport:
    """Import a JSONL catalog idempotently; `CatalogFileInvalid` (nothing written) if any line is
    bad. With `publish`, a catalog snapshot including the import is published afterwards."""
    catalog = stores.catalog
    report = ImportReport()
    plan = plan_import(catalog, list(lines), report, progress=progress, now=now or datetime.now(UTC))
    if not plan:
        return report
    base_version = _snapshot_before_writing(catalog) if publish else 0
    version, written, announced = base_version, [], 0
    try:
        for start in range(0, len(plan), VERSION_BUMP_EVERY):
            group = plan[start : start + VERSION_BUMP_EVERY]
            written += _write_group(catalog, group, report, progress, start, len(plan))
            if report.written > announced:
                version, announced = _announce(catalog, report), report.written
    finally:
        if report.written > announced:  # stopped by an error: still announce what was written
            _announce(catalog, report)
    if publish and written:
        published = (
            publish_snapshot_with_changes(
                catalog,
                base_version=base_version,
                version=version,
                written_partners=[w.body for w in written if w.kind == "partner"],
                written_offers=[w.body for w in written if w.kind == "offer"],
            )
            if version == base_version + report.version_bumps
            else publish_snapshot(catalog)
        )
        report.snapshot_version = published.version if published else None
    return report


def plan_import(
    catalog: CatalogStore,
    lines: Sequence[str],
    report: ImportReport,
    *,
    progress: ProgressCallback | None = None,
    now: datetime,
) -> list[PlannedWrite]:
    """Check every line and compare it with the catalog: the writes an import needs, partners
    first; unchanged entities are counted in `report`. Reads, never writes."""
    entries, errors = check_catalog_lines(lines, progress=progress)
    file_partners = {e.entity_id: e.request for e in entries if isinstance(e, PartnerLine)}
    outside_ids = {e.request.partner_id for e in entries if isinstance(e, OfferLine)} - set(file_partners)
    outside = catalog.get_many("PARTNER", sorted(outside_ids))
    partners = {partner_id: _partner_terms(item) for partner_id, item in outside.items()} | file_partners
    for entry in entries:
        if isinstance(entry, OfferLine) and entry.request.partner_id not in partners:
            owner = entry.request.partner_id
            errors.append(
                LineError(entry.line, f"no partner {owner!r} in this file or in the catalog", "partner_id")
            )
    entries = [e for e in entries if not isinstance(e, OfferLine) or e.request.partner_id in partners]
    contents: dict[Key, dict[str, Any]] = {
        (e.kind, e.entity_id): entity_content(e, partners) for e in entries
    }
    hashes = {key: content_hash(content) for key, content in contents.items()}
    vouched, full = _read_stored(catalog, entries, hashes, progress)
    errors += _ownership_errors(entries, full)
    if errors:
        raise CatalogFileInvalid(sorted(errors, key=lambda error: error.line))
    plan: list[PlannedWrite] = []
    for entry in sorted(entries, key=lambda e: (e.kind != "partner", e.line)):
        key = (entry.kind, entry.entity_id)
        if key in vouched:
            report.unchanged[entry.kind] += 1
            continue
        write = _planned_write(entry, contents[key], hashes[key], full.get(key), now)
        if write is None:
            report.unchanged[entry.kind] += 1
        else:
            plan.append(write)
    return plan


def _partner_terms(stored: dict[str, Any]) -> PartnerCreate:
    return PartnerCreate.model_validate({k: v for k, v in stored.items() if k in PartnerCreate.model_fields})


def _read_stored(
    catalog: CatalogStore,
    entries: Sequence[CatalogLine],
    hashes: dict[Key, str],
    progress: ProgressCallback | None,
) -> tuple[set[Key], dict[Key, dict[str, Any]]]:
    """The entities whose stored fingerprint vouches that they hold what their line says, and
    the whole stored item of the others that exist."""
    versions: dict[Key, dict[str, Any]] = {}
    kinds: tuple[Kind, Kind] = ("partner", "offer")
    done = 0
    for kind in kinds:
        ids = [e.entity_id for e in entries if e.kind == kind]
        for start in range(0, len(ids), READ_PROGRESS_EVERY):
            chunk = ids[start : start + READ_PROGRESS_EVERY]
            found = catalog.get_many(kind.upper(), chunk, attributes=["version", FINGERPRINT])
            versions.update({(kind, entity_id): item for entity_id, item in found.items()})
            done += len(chunk)
            if progress:
                progress("comparing", done, len(entries))
    vouched = {
        key
        for key, item in versions.items()
        if item.get(FINGERPRINT) == _fingerprint(item.get("version", 1), hashes[key])
    }
    unsure = [key for key in versions if key not in vouched]
    full: dict[Key, dict[str, Any]] = {}
    for kind in kinds:
        found = catalog.get_many(kind.upper(), [entity_id for k, entity_id in unsure if k == kind])
        full.update({(kind, entity_id): item for entity_id, item in found.items()})
    return vouched, full


def _ownership_errors(entries: Sequence[CatalogLine], full: dict[Key, dict[str, Any]]) -> list[LineError]:
    """An import never takes over an offer it does not own."""
    errors = []
    for entry in entries:
        stored = full.get((entry.kind, entry.entity_id))
        if not isinstance(entry, OfferLine) or stored is None:
            continue
        if stored.get("kind") == "first_party":
            errors.append(LineError(entry.line, f"{entry.entity_id!r} is a retailer's own offer", "offer_id"))
        elif stored.get("partner_id") != entry.request.partner_id:
            errors.append(
                LineError(
                    entry.line,
                    f"offer {entry.entity_id!r} belongs to partner {stored.get('partner_id')!r};"
                    " an import cannot move it to another partner",
                    "partner_id",
                )
            )
    return errors


def _planned_write(
    entry: CatalogLine, content: dict[str, Any], digest: str, stored: dict[str, Any] | None, now: datetime
) -> PlannedWrite | None:
    """What to write for a line: the new entity, the updated one, or None when it is unchanged."""
    if stored is None:
        if isinstance(entry, PartnerLine):
            # No webhook secret: the partner gets one (shown once) by rotating it.
            partner = Partner(partner_id=entry.entity_id, created_at=now, **content)
            body = partner_item(partner, webhook_secrets=[])
        else:
            body = offer_item(Offer(offer_id=entry.entity_id, created_at=now, **content))
        body[FINGERPRINT] = _fingerprint(body["version"], digest)
        return PlannedWrite(entry.kind, entry.entity_id, body, None)
    # DynamoDB drops None attributes, so an absent attribute and a None field are the same value.
    if all(stored.get(name) == value for name, value in content.items()):
        return None  # the same content, written by someone else: leave it (and its version) alone
    version = int(stored.get("version", 1))
    kept = {k: v for k, v in stored.items() if k not in ("pk", "sk", "type_pk", "type_sk")}
    body = {**kept, **content, "version": version + 1, FINGERPRINT: _fingerprint(version + 1, digest)}
    return PlannedWrite(entry.kind, entry.entity_id, body, version)


def _fingerprint(version: Any, digest: str) -> str:
    return f"{version}:{digest}"


def _snapshot_before_writing(catalog: CatalogStore) -> int:
    """The catalog version before the import writes, with a snapshot published for it (so the
    snapshot after the import can be that one plus the import's own writes)."""
    version = catalog.version()
    pointer = catalog.snapshot_pointer()
    if pointer is None or int(pointer["snapshot_version"]) != version:
        publish_snapshot(catalog)
    return version


def _write_group(
    catalog: CatalogStore,
    group: list[PlannedWrite],
    report: ImportReport,
    progress: ProgressCallback | None,
    done: int,
    total: int,
) -> list[PlannedWrite]:
    """Write new entities 25 a call, then update changed ones one conditional put each; returns
    what was written."""
    written: list[PlannedWrite] = []
    new = [write for write in group if write.expected_version is None]
    for start in range(0, len(new), NEW_PER_CALL):
        calls = new[start : start + NEW_PER_CALL]
        report.write_calls += catalog.put_new_entities([(w.entity, w.entity_id, w.body) for w in calls])
        for write in calls:
            report.created[write.kind] += 1
        written += calls
        done += len(calls)
        if progress:
            progress("writing", done, total)
    for write in group:
        if write.expected_version is None:
            continue
        report.write_calls += 1
        if catalog.put_if_version(
            write.entity, write.entity_id, write.body, expected_version=write.expected_version
        ):
            report.updated[write.kind] += 1
            written.append(write)
        else:
            report.conflicts.append(f"{write.kind} {write.entity_id}")
        done += 1
        if progress:
            progress("writing", done, total)
    return written


def _announce(catalog: CatalogStore, report: ImportReport) -> int:
    """Bump the catalog version so warm functions reload; returns the new version."""
    report.write_calls += 1
    report.version_bumps += 1
    return catalog.bump_version()
