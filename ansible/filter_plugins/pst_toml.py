"""TOML in and out of the playbook: the appliance's `default.toml` read on the controller, merged with the inventory,
written back as the host's `/etc/pst/appliance.toml` (which the product then checks with its own reader).

Only what the appliance's file holds is written: tables, arrays of tables, strings, numbers, booleans and arrays of
plain values.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence

BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def from_toml(text: str) -> dict:
    return tomllib.loads(str(text))


def to_toml(data: Mapping, header: str = "") -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: Mapping, path: tuple[str, ...], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in plain.items():
        lines.append(f"{_key(key)} = {_value(value, path + (key,))}")
    for key, value in data.items():
        if _is_table(value):
            lines.extend(["", f"[{_dotted(path + (key,))}]"])
            _table(value, path + (key,), lines)
        elif _is_table_array(value):
            for item in value:
                lines.extend(["", f"[[{_dotted(path + (key,))}]]"])
                _table(item, path + (key,), lines)


def _is_table(value) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value) -> bool:
    return _is_list(value) and bool(value) and all(isinstance(item, Mapping) for item in value)


def _is_list(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _value(value, path: tuple[str, ...]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{_dotted(path)}: {value} has no place in the appliance's file")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if _is_list(value) and not any(isinstance(item, Mapping) for item in value):
        return "[" + ", ".join(_value(item, path) for item in value) + "]"
    raise ValueError(f"{_dotted(path)}: cannot write {type(value).__name__} {value!r} as TOML")


def _key(key) -> str:
    key = str(key)
    return key if BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_key(part) for part in path)


class FilterModule:
    def filters(self):
        return {"pst_from_toml": from_toml, "pst_to_toml": to_toml}
