"""JSON sent by clients, parsed so that no body can crash the code that reads it."""

import json
from typing import Any

from afterglow.errors import MalformedJson


def parse_json(raw: bytes | str, *, field: str = "body") -> Any:
    """`raw` parsed as JSON; `MalformedJson` (400) for anything else.

    Nesting deeper than the parser's recursion limit (100,000 `[`) raises RecursionError, which is
    not a ValueError: it is bad input like any other, not an internal error.
    """
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise MalformedJson(f"{field} is not valid JSON", field=field) from error
