"""The digest of pyproject.toml's dependency lists that each lock file records: a changed dependency means a stale lock."""

import hashlib
import json
import sys
import tomllib
from pathlib import Path


def digest(pyproject: Path) -> str:
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = {"dependencies": project["dependencies"], "optional": project.get("optional-dependencies", {})}
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


if __name__ == "__main__":
    print(digest(Path(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml")))
