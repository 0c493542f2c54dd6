"""Publishing a run's files to the reports bucket so that a run is complete or visibly not.

Every run (a day, a month) writes its files under deterministic keys and then a `manifest.json`
listing each file's key, rows, bytes and sha256, with `"status": "complete"`. The manifest goes
last: a first run that dies midway leaves no manifest; a re-run first replaces an existing
manifest with an `"incomplete"` one, so a re-run that dies midway never leaves old hashes vouching
for half-new files. Readers use `read_verified`, which trusts a file only when a complete manifest
lists it with the same sha256.
"""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from afterglow.store import ReportStore

CSV = "text/csv; charset=utf-8"
JSON = "application/json"
HTML = "text/html; charset=utf-8"
JSON_LINES = "application/x-ndjson; charset=utf-8"


@dataclass(frozen=True)
class ReportFile:
    body: bytes
    content_type: str
    rows: int


def csv_file(body: bytes) -> ReportFile:
    """A CSV with a header row; `rows` counts the lines after it."""
    return ReportFile(body, CSV, max(0, body.count(b"\n") - 1))


def jsonl_file(body: bytes) -> ReportFile:
    """JSON Lines: one document a line, each ending in a newline."""
    return ReportFile(body, JSON_LINES, body.count(b"\n"))


def json_bytes(document: Any) -> bytes:
    """Canonical JSON (sorted keys, two-space indent, trailing newline): same input, same bytes."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def json_file(document: Any) -> ReportFile:
    return ReportFile(json_bytes(document), JSON, len(document) if isinstance(document, list) else 1)


def publish(
    reports: ReportStore, manifest_key: str, files: Mapping[str, ReportFile], header: Mapping[str, Any]
) -> dict[str, Any]:
    """Write every file, then the manifest (see the module docstring); returns the manifest."""
    if reports.get(manifest_key) is not None:
        reports.put(manifest_key, json_bytes({**header, "status": "incomplete"}), JSON)
    for key in sorted(files):
        reports.put(key, files[key].body, files[key].content_type)
    manifest = {
        **header,
        "status": "complete",
        "files": {
            key: {
                "rows": file.rows,
                "bytes": len(file.body),
                "sha256": hashlib.sha256(file.body).hexdigest(),
            }
            for key, file in files.items()
        },
    }
    reports.put(manifest_key, json_bytes(manifest), JSON)
    return manifest


def complete_manifest(reports: ReportStore, manifest_key: str) -> dict[str, Any] | None:
    """The manifest at this key if its run completed, else None."""
    body = reports.get(manifest_key)
    if body is None:
        return None
    manifest: dict[str, Any] = json.loads(body)
    return manifest if manifest.get("status") == "complete" else None


def read_verified(reports: ReportStore, manifest: Mapping[str, Any], key: str) -> bytes | None:
    """A file listed by a complete manifest, only if its bytes still match the listed sha256."""
    listed = manifest.get("files", {}).get(key)
    if listed is None:
        return None
    body = reports.get(key)
    if body is None or hashlib.sha256(body).hexdigest() != listed["sha256"]:
        return None
    return body
