"""Line-by-line checks of a JSONL catalog file, and what each line means (pure: no AWS).

Every problem becomes a `LineError` with its 1-based line number and, where there is one, the
field it is about (dotted, e.g. `creative.title`), so a file with many bad lines is fixed in one go.
"""

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import TypeAdapter, ValidationError

from afterglow.models import Identifier, OfferCreate, PartnerCreate

PROGRESS_EVERY = 1_000  # lines between progress reports

_identifier = TypeAdapter(Identifier)


@dataclass(frozen=True)
class LineError:
    """One problem on one line of the file."""

    line: int
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.field}" if self.field else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class PartnerLine:
    """A valid partner line."""

    kind: ClassVar[Literal["partner"]] = "partner"
    line: int
    entity_id: str
    request: PartnerCreate


@dataclass(frozen=True)
class OfferLine:
    """A valid offer line."""

    kind: ClassVar[Literal["offer"]] = "offer"
    line: int
    entity_id: str
    request: OfferCreate


CatalogLine = PartnerLine | OfferLine
ID_FIELDS: dict[str, str] = {"partner": "partner_id", "offer": "offer_id"}


def check_catalog_lines(
    lines: Sequence[str], *, progress: Callable[[str, int, int], None] | None = None
) -> tuple[list[CatalogLine], list[LineError]]:
    """The valid lines and every problem found, without looking at the stored catalog (the
    offer's partner and stored ownership are checked by the import, which can read it)."""
    valid: list[CatalogLine] = []
    errors: list[LineError] = []
    first_seen: dict[tuple[str, str], int] = {}
    for number, text in enumerate(lines, start=1):
        if progress and number % PROGRESS_EVERY == 0:
            progress("checking", number, len(lines))
        if not text.strip():
            continue
        parsed, line_errors = _check_line(number, text)
        errors += line_errors
        if parsed is None:
            continue
        earlier = first_seen.setdefault((parsed.kind, parsed.entity_id), number)
        if earlier != number:
            id_field = ID_FIELDS[parsed.kind]
            errors.append(
                LineError(number, f"duplicate {id_field} {parsed.entity_id!r} (line {earlier})", id_field)
            )
            continue
        valid.append(parsed)
    if progress:
        progress("checking", len(lines), len(lines))
    return valid, errors


def _check_line(number: int, text: str) -> tuple[CatalogLine | None, list[LineError]]:
    try:
        record: Any = json.loads(text.rstrip("\r\n"))  # so that a column is one on this line
    except json.JSONDecodeError as error:
        return None, [LineError(number, f"not valid JSON: {error.msg} (column {error.colno})")]
    except RecursionError:
        return None, [LineError(number, "not valid JSON: nested too deeply")]
    if not isinstance(record, dict):
        return None, [LineError(number, "expected a JSON object")]
    kind = record.pop("type", None)
    if not isinstance(kind, str) or kind not in ID_FIELDS:
        return None, [LineError(number, "must be 'partner' or 'offer'", "type")]
    id_field = ID_FIELDS[kind]
    entity_id = record.pop(id_field, None)
    errors = []
    try:
        _identifier.validate_python(entity_id)
    except ValidationError:
        errors.append(LineError(number, "required: 1-128 letters, digits or _ . : -", id_field))
    parsed: CatalogLine | None = None
    try:
        if kind == "partner":
            parsed = PartnerLine(number, entity_id, PartnerCreate.model_validate(record))
        else:
            parsed = OfferLine(number, entity_id, OfferCreate.model_validate(record))
    except ValidationError as invalid:
        errors += [
            LineError(
                number,
                problem["msg"].removeprefix("Value error, "),
                ".".join(str(part) for part in problem["loc"]) or None,
            )
            for problem in invalid.errors()
        ]
    return (None if errors else parsed), errors


# --- what a line means for the stored entity -----------------------------------------------------


def entity_content(entry: CatalogLine, partners: Mapping[str, PartnerCreate]) -> dict[str, Any]:
    """The stored fields a line determines (JSON-ready). An offer's attribution window and lock
    period default to its partner's, as when it is created through the admin API."""
    content = entry.request.model_dump(mode="json")
    if isinstance(entry, OfferLine):
        partner = partners[entry.request.partner_id]
        if content["attribution_window_days"] is None:
            content["attribution_window_days"] = partner.default_attribution_window_days
        if content["lock_days"] is None:
            content["lock_days"] = partner.default_lock_days
    return content


def content_hash(content: Mapping[str, Any]) -> str:
    """A stable hash of an entity's content: an import stores it to recognise, on the next run,
    an entity it wrote and that nobody changed since, without reading the whole entity back."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
