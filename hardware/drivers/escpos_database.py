"""python-escpos's printer database (its capabilities.json: the profiles of every printer it knows), kept between starts.

python-escpos 3.1 reads that file with PyYAML's pure-Python parser when it is first imported (0.2 s here, seconds on a
Pi) and keeps the result in a new temporary folder each time, so every start pays again and leaves a folder behind.
Its own setting ESCPOS_CAPABILITIES_PICKLE_DIR names a folder to keep it in instead; the copy there is written here
from the same file read as JSON (the same data, a hundredth of the time), and every later start reads the copy.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import sys
from importlib.util import find_spec
from pathlib import Path

SETTING = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def keep_printer_database(folder: Path) -> None:
    """Call before python-escpos is imported; an operator's own ESCPOS_CAPABILITIES_PICKLE_DIR is kept."""
    if "escpos.capabilities" in sys.modules:
        return  # read already: the setting would come too late
    folder = Path(os.environ.setdefault(SETTING, str(folder)))
    source = _database_file()
    if source is None:
        return
    # the name and the freshness test are python-escpos's own: a copy older than the database is read again
    copy = folder / f"{platform.python_version()}.capabilities.pickle"
    try:
        if copy.exists() and copy.stat().st_mtime >= source.stat().st_mtime:
            return
        data = json.loads(source.read_text(encoding="utf-8"))
        folder.mkdir(parents=True, exist_ok=True)
        partial = copy.with_name(f"{copy.name}.{os.getpid()}")
        partial.write_bytes(pickle.dumps(data, protocol=2))
        os.replace(partial, copy)  # `pst hw check` may start beside the appliance
    except (OSError, ValueError):
        return  # a database that is not JSON, or a folder not writable: python-escpos reads it its own way


def _database_file() -> Path | None:
    if os.environ.get("ESCPOS_CAPABILITIES_FILE"):
        return Path(os.environ["ESCPOS_CAPABILITIES_FILE"])
    spec = find_spec("escpos")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "capabilities.json"
