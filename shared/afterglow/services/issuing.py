"""Issued monthly documents are never rewritten: a change is a restatement that refers to them.

An invoice or statement written for a complete month (every day reconciled: `"complete": true`)
is *issued*: its bytes stay as they are for good. Re-rolling that month later (a backfill, a
changed revenue share, a day reconciled again) compares what it would write with the document in
force (the original or its latest restatement):

- the same figures → the issued files are written again byte for byte, and nothing else;
- other figures → a restatement `<base>.restatement-<n>.csv` / `.json` next to them: the whole
  document as it now reads, its JSON with a `restatement` note naming the original (key and
  sha256), the document it supersedes and the difference of every total.

A month to date (`"complete": false`) is provisional and simply rewritten. A re-roll that finds an
issued month no longer complete (a day's files gone) leaves the issued documents as they are.
"""

import hashlib
import json
from collections.abc import Callable
from typing import Any

from afterglow.invoicing import RESTATEMENT, difference, figures
from afterglow.services.report_files import JSON, ReportFile, csv_file, json_bytes, json_file
from afterglow.store import ReportStore

Render = Callable[[int], tuple[bytes, dict[str, Any]]]
"""The CSV and JSON document of an invoice or statement, as restatement `n` (0: the original)."""


def document_base(base: str, restatement: int) -> str:
    """The key (without .csv/.json) of the original (0) or of restatement `n` of a document."""
    return base if restatement == 0 else f"{base}.restatement-{restatement}"


def _issued(reports: ReportStore, base: str) -> list[tuple[bytes, bytes]]:
    """The original and every restatement of a document as (csv, json) bytes, in order; [] while
    the month has no issued document (none yet, or only a month to date)."""
    found: list[tuple[bytes, bytes]] = []
    while True:
        key = document_base(base, len(found))
        body, table = reports.get(key + ".json"), reports.get(key + ".csv")
        if body is None or table is None:
            return found
        if not found and json.loads(body).get("complete") is not True:
            return []
        found.append((table, body))


def issue(
    reports: ReportStore, base: str, render: Render, *, complete: bool
) -> tuple[dict[str, ReportFile], dict[str, Any]]:
    """The files to publish for one invoice or statement (`base` = its key without extension)
    and the document in force afterwards (see the module docstring)."""
    issued = _issued(reports, base)
    if not issued:
        table, document = render(0)
        return {base + ".csv": csv_file(table), base + ".json": json_file(document)}, document
    files: dict[str, ReportFile] = {}
    for number, (table, body) in enumerate(issued):
        files[document_base(base, number) + ".csv"] = csv_file(table)
        files[document_base(base, number) + ".json"] = ReportFile(body, JSON, 1)
    in_force: dict[str, Any] = json.loads(issued[-1][1])
    number = len(issued)
    table, document = render(number)
    document = json.loads(json_bytes(document))  # compared as it would read back
    if not complete or figures(document) == figures(in_force):
        return files, in_force
    superseded = document_base(base, number - 1) + ".json"
    document[RESTATEMENT] = {
        "number": number,
        "restates": base + ".json",
        "restates_sha256": hashlib.sha256(issued[0][1]).hexdigest(),
        "supersedes": superseded,
        "difference": difference(in_force.get("totals", {}), document.get("totals", {})),
    }
    restated = document_base(base, number)
    files[restated + ".csv"] = csv_file(table)
    files[restated + ".json"] = json_file(document)
    return files, document
