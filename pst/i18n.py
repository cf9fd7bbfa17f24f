"""Pages in more than one language, for both web apps. Indonesian is the source: the text in templates and code is
the msgid. Other languages are read from `<locale>/<code>/LC_MESSAGES/messages.po` when an app starts (no compile
step: an app given a cache folder keeps the compiled catalogue there for its later starts). The language of a request is a context variable set from the `pst_lang` cookie by `language_middleware`;
worker threads see it because anyio runs them in a copy of the caller's context. Framework-free: plain ASGI.
"""

from __future__ import annotations

import functools
import gettext as stdlib_gettext
import hashlib
import io
import os
import re
from contextvars import ContextVar
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from jinja2 import Environment

SOURCE = "id"
COOKIE = "pst_lang"
NAMES = {"id": "Bahasa Indonesia", "en": "English"}  # each written in its own language, for the switch
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

current_language: ContextVar[str] = ContextVar("pst_language", default=SOURCE)


def language() -> str:
    """The language code of the page being made ("id" outside a request)."""
    return current_language.get()


def N_(message: str) -> str:
    """Marks Indonesian text for the catalogue where it is written; a page translates it where it is shown."""
    return message


class Catalogue:
    """One language: gettext for the templates, and `translate` for Indonesian text made elsewhere (an error
    message, an alert kept in the database), matched against the msgids, placeholders included.
    """

    def __init__(self, translations: stdlib_gettext.NullTranslations, msgids: frozenset[str] = frozenset()):
        self.translations = translations
        self.msgids = msgids

    @functools.cached_property
    def patterns(self) -> list[tuple[re.Pattern, str]]:
        """Made by the first text that is not a msgid itself (hundreds of expressions: not at every start)."""
        # a message with words of its own around its placeholders ("%(a)s: %(b)s" would match any text with a
        # colon); the longest fixed text first, so "Nomor %(n)s dipanggil ulang" wins over a looser message
        fixed = {msgid: PLACEHOLDER.sub("", msgid) for msgid in self.msgids if PLACEHOLDER.search(msgid)}
        patterns = [(_pattern(msgid), msgid) for msgid, text in fixed.items() if any(c.isalpha() for c in text)]
        return sorted(patterns, key=lambda item: -len(fixed[item[1]]))

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def translate(self, text: str, depth: int = 0) -> str:
        """`text` in this language when it is a msgid or a msgid with its placeholders filled; else unchanged."""
        if not isinstance(text, str) or not self.msgids:
            return text
        if text in self.msgids:
            return self.gettext(text)
        if depth > 1:
            return text
        for pattern, msgid in self.patterns:
            match = pattern.fullmatch(text)
            if match:
                values = {name: self.translate(value, depth + 1) for name, value in _values(match, msgid).items()}
                return self.gettext(msgid) % values
        return text


def _pattern(msgid: str) -> re.Pattern:
    parts, end = [], 0
    for index, placeholder in enumerate(PLACEHOLDER.finditer(msgid)):
        parts.append(re.escape(msgid[end:placeholder.start()].replace("%%", "%")))
        parts.append(f"(?P<v{index}>.+?)")
        end = placeholder.end()
    parts.append(re.escape(msgid[end:].replace("%%", "%")))
    return re.compile("".join(parts), re.DOTALL)


def _values(match: re.Match, msgid: str) -> dict[str, str]:
    names = [placeholder.group(1) for placeholder in PLACEHOLDER.finditer(msgid)]
    return {name: match.group(f"v{index}") for index, name in enumerate(names)}


def read_catalogue(po_file: Path, cache: Path | None = None) -> Catalogue:
    """A .po file as gettext translations, compiled to .mo (fuzzy entries are left out, as msgfmt does): in memory,
    or once into the folder `cache`, where later starts find it under the .po's digest (a changed .po is compiled
    again; Babel's parser, the slow part, is not even imported then)."""
    source = po_file.read_bytes()
    if cache is None:
        return _catalogue(_compile(source))
    compiled = cache / f"{po_file.parents[1].name}.{hashlib.sha256(source).hexdigest()[:16]}.mo"
    try:
        return _catalogue(compiled.read_bytes())
    except Exception:  # not compiled yet, or a damaged copy: compiled again below
        pass
    data = _compile(source)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        partial = compiled.with_name(f"{compiled.name}.{os.getpid()}")  # two processes may start at once
        partial.write_bytes(data)
        os.replace(partial, compiled)
        for stale in cache.glob(f"{po_file.parents[1].name}.*.mo"):
            if stale != compiled:
                stale.unlink(missing_ok=True)
    except OSError:  # a folder not writable: compiled in memory at every start, as without a cache
        pass
    return _catalogue(data)


def _compile(po_source: bytes) -> bytes:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    buffer = io.BytesIO()
    write_mo(buffer, read_po(io.BytesIO(po_source)))
    return buffer.getvalue()


def _catalogue(mo: bytes) -> Catalogue:
    translations = stdlib_gettext.GNUTranslations(io.BytesIO(mo))
    # a .mo holds only the translated entries (the header's msgid is ""); a plural's key is (singular, index)
    msgids = frozenset(key if isinstance(key, str) else key[0] for key in translations._catalog if key)
    return Catalogue(translations, msgids)


class Languages:
    """The catalogues the pages can use, and the gettext functions that follow the request's language."""

    def __init__(self, catalogues: dict[str, Catalogue]):
        self.catalogues = {SOURCE: Catalogue(stdlib_gettext.NullTranslations())} | catalogues

    @classmethod
    def load(cls, directory: Path, cache: Path | None = None) -> Languages:
        """The catalogues of `directory`; compiled ones kept in `cache` when given (see `read_catalogue`)."""
        files = sorted(directory.glob("*/LC_MESSAGES/messages.po"))
        return cls({path.parents[1].name: read_catalogue(path, cache) for path in files})

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.catalogues)

    def choose(self, code: str | None) -> str:
        return code if code in self.catalogues else SOURCE

    def names(self) -> dict[str, str]:
        return {code: NAMES.get(code, code) for code in self.catalogues}

    def current(self) -> Catalogue:
        return self.catalogues.get(current_language.get()) or self.catalogues[SOURCE]

    def gettext(self, message: str) -> str:
        return self.current().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.current().ngettext(singular, plural, n)

    def translate(self, text: str) -> str:
        return self.current().translate(text)

    def install(self, environment: Environment) -> None:
        """`_()`, `{% trans %}`, the `translated` filter for text from the code, `language()` for `<html lang>`."""
        environment.add_extension("jinja2.ext.i18n")
        environment.install_gettext_callables(gettext=self.gettext, ngettext=self.ngettext, newstyle=True)
        environment.filters["translated"] = self.translate
        environment.globals["language"] = language
        environment.globals["languages"] = self.names


def cookie_language(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The `pst_lang` cookie of an ASGI request's raw headers, or None."""
    for name, value in headers:
        if name.lower() != b"cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except CookieError:  # a malformed Cookie header: the page in Indonesian, not an error
            continue
        if COOKIE in jar:
            return jar[COOKIE].value
    return None


def language_middleware(app: Any, languages: Languages) -> Any:
    """ASGI middleware: the request's language from the cookie, unless its handler pins one (`opt["language"]`)."""
    async def middleware(scope: dict, receive: Any, send: Any) -> None:
        handler = scope.get("route_handler")
        pinned = handler.opt.get("language") if handler is not None else None
        token = current_language.set(languages.choose(pinned or cookie_language(scope.get("headers", []))))
        # kept when an exception leaves: the framework draws its error page (a stale CSRF token, a refused body)
        # outside this middleware, in this request's context, and it is the reader's language too; every request
        # sets its own language here first, so nothing carries over
        await app(scope, receive, send)
        current_language.reset(token)

    return middleware


def back_to(referer: str, netloc: str, home: str = "/") -> str:
    """Where a language switch returns: the page it was clicked on when that page is on this site; else `home`."""
    parts = urlsplit(referer)
    path = parts.path
    same_site = parts.scheme in ("http", "https") and parts.netloc == netloc
    # "//host" and "/\host" are read by browsers as another site; a switch link must not lead to another switch
    if not same_site or not path.startswith("/") or path.startswith(("//", "/bahasa/")) or "\\" in path:
        return home
    return f"{path}?{parts.query}" if parts.query else path
