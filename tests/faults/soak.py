"""The size of a fault campaign: reduced in `make test`, full under `make soak` (PST_SOAK=1), or PST_SOAK=N cases.

Read when the test modules are imported: the autouse fixture of tests/conftest.py clears every PST_* variable
before a test runs.
"""

import os

SOAK = os.environ.get("PST_SOAK", "")


def campaign_size(full: int, reduced: int) -> int:
    if not SOAK:
        return reduced
    return int(SOAK) if SOAK.isdigit() and int(SOAK) > 1 else full
