"""Schemathesis hooks for the fuzz run (loaded through SCHEMATHESIS_HOOKS)."""

from typing import Any

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(_: Any, value: Any) -> bytes:
    """The bulk catalog import takes JSONL; the schema describes it as one string."""
    return value.encode() if isinstance(value, str) else str(value).encode()
