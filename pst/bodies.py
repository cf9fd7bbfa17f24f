"""Limits on JSON bodies that clients send, checked before any parser sees them: Python's json module and msgspec
both recurse once per nesting level, so a body of 100,000 opening brackets would end in a RecursionError (a 500).
"""

from __future__ import annotations

import re

MAX_DEPTH = 32  # no request of either app nests deeper than a few levels
MAX_JSON = 1 * 2**20  # bytes of a JSON body read by a handler itself (the sync batches have their own limit)
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: twice as fast as (a|b)*
_NOT_BRACKET = bytes(set(range(256)) - set(b"[]{}"))


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects more than `limit` levels (or leaves brackets unclosed that
    deep). Strings are removed first so brackets inside them do not count; then innermost pairs are taken away one
    level at a time — each pass is one C-speed replace, so 8 MiB is checked in milliseconds."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKET).translate(bytes.maketrans(b"{}", b"[]"))
    for _ in range(limit):
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets = shorter
    return b"[" in brackets


def has_nul(value: object) -> bool:
    """Whether a parsed JSON value holds a NUL character in any string or key: SQLite keeps it, PostgreSQL's text
    refuses it, so it is refused at the door on both sides instead of failing later in the cloud."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    return False
