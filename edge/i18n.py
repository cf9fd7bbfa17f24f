"""The languages of the appliance's pages. Indonesian is the source: the text in templates and code is the msgid.
Other languages are read from `edge/locale/<code>/LC_MESSAGES/messages.po` when the app starts (no compile step;
the appliance keeps them compiled in `$PST_DATA_DIR/cache/locale` for its later starts).
The machinery is shared with the portal (`pst.i18n`); this module names the appliance's catalogue.
"""

from __future__ import annotations

from pathlib import Path

from pst import i18n as _shared
from pst.i18n import (  # noqa: F401  (the appliance's code imports these names from here)
    COOKIE, NAMES, PLACEHOLDER, SOURCE, Catalogue, N_, current_language, language, read_catalogue,
)

LOCALE_DIR = Path(__file__).parent / "locale"


class Languages(_shared.Languages):
    """The shared catalogues, loaded from the appliance's own locale directory by default."""

    @classmethod
    def load(cls, directory: Path = LOCALE_DIR, cache: Path | None = None) -> Languages:
        return super().load(directory, cache)
