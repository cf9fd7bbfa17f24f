"""The per-reader watermark drawn into a PDF with pymupdf, and scanned pages (JPEGs) turned into a PDF.

The fast path (library-facts): the diagonal text is drawn once per document as a Form XObject and every page only
gets a tiny content stream of its own that shows it (`/PstWm Do`) and writes its footer; existing streams are
never decoded or re-compressed. The result is always written whole, never as an incremental update, which would
leave the unwatermarked original in the file for anyone who truncates it at the previous `%%EOF`. Writing to a
file (`doc.save(path)`) is several times faster than `tobytes()` on a large PDF: MuPDF then writes by itself
instead of handing every chunk to Python.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pymupdf
from pymupdf import mupdf

from pst.watermark import SEPARATOR, footer_text

# Resource names: unlike a producer's own (/F1, /Im0, /GS0 …), and tagged per stamping so a PDF stamped twice keeps
# both stamps apart instead of the second one's resources redirecting the first one's.
FONT = "PstF{tag}"
XOBJECT = "PstWm{tag}n"
FOOTER_STATE = "PstGsF{tag}"
BASE_FONT = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


@dataclass(frozen=True)
class StampStyle:
    grey: float = 0.55  # fill colour of the diagonal text (0 black … 1 white)
    opacity: float = 0.28  # light enough to read the page through it
    max_size: float = 40.0
    min_size: float = 10.0
    leading: float = 1.3
    footer_size: float = 6.5
    footer_grey: float = 0.2
    footer_band_opacity: float = 0.75  # a pale band under the footer keeps it readable on a dark scan
    numbered: bool = True  # "hal. 3/50" at the end of every footer


class Stopped(Exception):
    """Stamping given up because `stop()` said so; `pages` were stamped before it asked."""

    def __init__(self, pages: int, count: int):
        super().__init__(pages, count)  # its args: it crosses from a stamping process as a pickle
        self.pages, self.count = pages, count

    def __str__(self) -> str:
        return f"stopped after {self.pages} of {self.count} pages"


STOP_EVERY = 64  # pages between two questions to `stop`


def stamp(doc: pymupdf.Document, lines: list[str], style: StampStyle = StampStyle(),
          stop: Callable[[], bool] | None = None) -> pymupdf.Document:
    """`lines` across and at the foot of every page of `doc`, in place. Save it whole afterwards: `doc.save(path)`
    (fast, written by MuPDF itself) or `stamp_pdf` for bytes; never `incremental=True`. `stop`, asked every
    STOP_EVERY pages, ends the work early (`Stopped`; the document is then half-stamped and only fit to close)."""
    if doc.is_encrypted or doc.needs_pass:
        raise ValueError("cannot watermark an encrypted PDF")
    _Stamper(doc, lines, style).stamp_all(stop)
    return doc


def stamp_pdf(source: bytes | pymupdf.Document, lines: list[str], style: StampStyle = StampStyle()) -> bytes:
    """The PDF with `lines` across and at the foot of every page, written whole. A Document passed in is stamped
    in place (its owner closes it); bytes are opened and closed here."""
    doc = source if isinstance(source, pymupdf.Document) else pymupdf.open(stream=source, filetype="pdf")
    try:
        return stamp(doc, lines, style).tobytes(garbage=0, deflate=False)  # untouched streams are copied as they are
    finally:
        if doc is not source:
            doc.close()


def images_to_pdf(images: Iterable[bytes | tuple[bytes, float]], dpi: float = 150.0) -> pymupdf.Document:
    """One page per JPEG (or `(jpeg, dpi)`), sized from its pixels and resolution; MuPDF embeds the JPEG stream
    unchanged (DCTDecode), so a scan is never re-compressed."""
    doc = pymupdf.open()
    for item in images:
        data, page_dpi = item if isinstance(item, tuple) else (item, dpi)
        size = _pixel_size(data)
        if size is None:
            raise ValueError("not a JPEG image")
        page = doc.new_page(width=size[0] * 72 / page_dpi, height=size[1] * 72 / page_dpi)
        page.insert_image(page.rect, stream=data)
    return doc


def _pixel_size(jpeg: bytes) -> tuple[int, int] | None:
    """Width and height from the JPEG's SOF marker (no decoding)."""
    i = 2
    while i + 9 < len(jpeg):
        if jpeg[i] != 0xFF:
            return None
        marker, length = jpeg[i + 1], int.from_bytes(jpeg[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return int.from_bytes(jpeg[i + 7:i + 9], "big"), int.from_bytes(jpeg[i + 5:i + 7], "big")
        i += 2 + length
    return None


class _Stamper:
    """Works on MuPDF's objects directly (`pymupdf.mupdf`): per page a few dictionary entries and one small stream,
    where pymupdf's `xref_set_key` would re-parse the whole object every time."""

    def __init__(self, doc: pymupdf.Document, lines: list[str], style: StampStyle):
        self.doc, self.lines, self.style = doc, [line for line in lines if line], style
        self.pdf = mupdf.pdf_document_from_fz_document(doc.this)
        tag = str(doc.xref_length())  # grows with every stamping of the same file
        self.font_name, self.footer_state_name = FONT.format(tag=tag), FOOTER_STATE.format(tag=tag)
        self.form_prefix = XOBJECT.format(tag=tag)
        self.font = self._indirect(self._new_object(BASE_FONT))
        self.footer_state = self._indirect(self._new_object(f"<< /Type /ExtGState /ca {style.footer_band_opacity:.2f} >>"))
        self.opening = self._add_stream(b"q\n")  # shared by every page: isolates its own graphics state
        self.forms: dict[tuple[int, int], tuple[str, mupdf.PdfObj]] = {}  # visible size → (name, reference)
        self.base_footer = footer_text(self.lines)
        self.base_escaped = _escape(self.base_footer)
        self.widths: dict[str, float] = {}
        self.base_width = self._width(self.base_footer)

    def stamp_all(self, stop: Callable[[], bool] | None = None) -> None:
        count = self.doc.page_count
        # every page found before any is changed: once the document has changes, MuPDF's walk of the page tree from
        # its root slows with the pages already stamped, and stamping grew with the square of the pages (4,000 pages:
        # 1.8 s, two thirds of it finding pages; 16,000: 35 s)
        pages = [mupdf.pdf_lookup_page_obj(self.pdf, number) for number in range(count)]
        for number, page in enumerate(pages):
            if stop is not None and number % STOP_EVERY == 0 and stop():
                raise Stopped(number, count)
            suffix = f"{SEPARATOR}hal. {number + 1}/{count}" if self.style.numbered else ""
            self._stamp(page, suffix)

    def _stamp(self, page: mupdf.PdfObj, suffix: str) -> None:
        box, rotation = _visible_box(page)
        width, height = (box.y1 - box.y0, box.x1 - box.x0) if rotation in (90, 270) else (box.x1 - box.x0, box.y1 - box.y0)
        name, form = self._form(width, height)
        resources = _resources(self.pdf, page)
        for category, key, value in (
            (mupdf.PDF_ENUM_NAME_XObject, name, form), (mupdf.PDF_ENUM_NAME_Font, self.font_name, self.font),
            (mupdf.PDF_ENUM_NAME_ExtGState, self.footer_state_name, self.footer_state),
        ):
            mupdf.pdf_dict_puts(_sub_dictionary(resources, category), key, value)
        cm = _visible_to_page(rotation, box)
        ops = f"Q\nq {cm} cm /{name} Do\n{self._footer_ops(suffix, width)}Q\n".encode("latin-1")
        self._wrap_contents(page, self._add_stream(ops))

    def _wrap_contents(self, page: mupdf.PdfObj, stamp: mupdf.PdfObj) -> None:
        """/Contents becomes [opening, the page's own streams…, stamp]."""
        old = mupdf.pdf_dict_get(page, mupdf.PDF_ENUM_NAME_Contents)
        if mupdf.pdf_is_array(old) and not mupdf.pdf_is_indirect(old):  # the page's own array: extended in place
            mupdf.pdf_array_insert(old, self.opening, 0)
            mupdf.pdf_array_push(old, stamp)
            return
        contents = mupdf.pdf_new_array(self.pdf, 4)  # one stream, or an array other pages may share: a new array
        mupdf.pdf_array_push(contents, self.opening)
        if mupdf.pdf_is_array(old):
            for i in range(mupdf.pdf_array_len(old)):
                mupdf.pdf_array_push(contents, mupdf.pdf_array_get(old, i))
        elif not mupdf.pdf_is_null(old):
            mupdf.pdf_array_push(contents, old)
        mupdf.pdf_array_push(contents, stamp)
        mupdf.pdf_dict_put(page, mupdf.PDF_ENUM_NAME_Contents, contents)

    def _footer_ops(self, suffix: str, width: float) -> str:
        s = self.style
        size = s.footer_size
        text_width = (self.base_width + self._width(suffix)) * size
        if text_width > width - 24:  # a long name: shrink rather than run off the page
            size *= (width - 24) / text_width
            text_width = width - 24
        x, y = (width - text_width) / 2, 6.0
        return (
            f"q /{self.footer_state_name} gs 1 g {x - 3:.2f} {y - 2.5:.2f} {text_width + 6:.2f} {size + 4:.2f} re f Q\n"
            f"BT /{self.font_name} {size:.2f} Tf {s.footer_grey:.2f} g {x:.2f} {y:.2f} Td "
            f"({self.base_escaped}{_escape(suffix)}) Tj ET\n"
        )

    def _width(self, text: str) -> float:
        """Width at size 1 in Helvetica, one measurement per distinct character (pymupdf measures in Python)."""
        total = 0.0
        for ch in _winansi(text):
            if ch not in self.widths:
                self.widths[ch] = pymupdf.get_text_length(ch, fontname="helv", fontsize=1)
            total += self.widths[ch]
        return total

    def _form(self, width: float, height: float) -> tuple[str, mupdf.PdfObj]:
        key = (round(width), round(height))
        if key not in self.forms:
            name = f"{self.form_prefix}{len(self.forms)}"
            self.forms[key] = (name, self._indirect(self._draw_form(width, height)))
        return self.forms[key]

    def _draw_form(self, width: float, height: float) -> int:
        """The diagonal text block, centred on the page, drawn once for every page of this size."""
        s = self.style
        angle = math.atan2(height, width)
        cos, sin = math.cos(angle), math.sin(angle)
        widths = [self._width(line) for line in self.lines]
        diagonal = math.hypot(width, height)
        size = max(s.min_size, min(s.max_size, 0.72 * diagonal / max(widths or [1])))
        step = size * s.leading
        ops = [f"q /PstGs gs {s.grey:.2f} g BT /PstF {size:.2f} Tf"]  # the form's own resources
        for i, (line, line_width) in enumerate(zip(self.lines, widths)):
            offset = ((len(self.lines) - 1) / 2 - i) * step - size * 0.35
            x = width / 2 - sin * offset - cos * line_width * size / 2
            y = height / 2 + cos * offset - sin * line_width * size / 2
            ops.append(f"{cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {x:.2f} {y:.2f} Tm ({_escape(line)}) Tj")
        ops.append("ET Q")
        state = self._new_object(f"<< /Type /ExtGState /ca {s.opacity:.2f} /CA {s.opacity:.2f} >>")
        xref = self._new_object(
            f"<< /Type /XObject /Subtype /Form /BBox [0 0 {width:.2f} {height:.2f}] /Resources << "
            f"/Font << /PstF {mupdf.pdf_to_num(self.font)} 0 R >> /ExtGState << /PstGs {state} 0 R >> >> >>"
        )
        self.doc.update_stream(xref, "\n".join(ops).encode("latin-1"), compress=False)
        return xref

    def _new_object(self, source: str) -> int:
        xref = self.doc.get_new_xref()
        self.doc.update_object(xref, source)
        return xref

    def _indirect(self, xref: int) -> mupdf.PdfObj:
        return mupdf.pdf_new_indirect(self.pdf, xref, 0)

    def _add_stream(self, data: bytes) -> mupdf.PdfObj:
        return mupdf.pdf_add_stream(self.pdf, mupdf.fz_new_buffer_from_copied_data(data), mupdf.PdfObj(), 0)


def _visible_box(page: mupdf.PdfObj) -> tuple[mupdf.FzRect, int]:
    """The page's visible area (CropBox within MediaBox, inherited if need be) and its /Rotate."""
    media = mupdf.pdf_to_rect(mupdf.pdf_dict_get_inheritable(page, mupdf.PDF_ENUM_NAME_MediaBox))
    crop_obj = mupdf.pdf_dict_get_inheritable(page, mupdf.PDF_ENUM_NAME_CropBox)
    box = media if mupdf.pdf_is_null(crop_obj) else mupdf.fz_intersect_rect(mupdf.pdf_to_rect(crop_obj), media)
    if mupdf.fz_is_empty_rect(box):
        box = media if not mupdf.fz_is_empty_rect(media) else mupdf.FzRect(0, 0, 612, 792)  # PDF's default
    rotation = mupdf.pdf_to_int(mupdf.pdf_dict_get_inheritable(page, mupdf.PDF_ENUM_NAME_Rotate)) % 360
    return box, rotation if rotation in (0, 90, 180, 270) else 0


def _resources(pdf: mupdf.PdfDocument, page: mupdf.PdfObj) -> mupdf.PdfObj:
    """The page's /Resources, its own or inherited (ours are added where it lives, so every page sharing it
    gets them once); a page without any gets a dictionary of its own."""
    resources = mupdf.pdf_dict_get_inheritable(page, mupdf.PDF_ENUM_NAME_Resources)
    if not mupdf.pdf_is_dict(resources):
        resources = mupdf.pdf_dict_put_dict(page, mupdf.PDF_ENUM_NAME_Resources, 4)
    return resources


def _sub_dictionary(resources: mupdf.PdfObj, category) -> mupdf.PdfObj:
    found = mupdf.pdf_dict_get(resources, category)
    if mupdf.pdf_is_dict(found):
        return found
    return mupdf.pdf_dict_put_dict(resources, category, 4)


def _visible_to_page(rotation: int, box: mupdf.FzRect) -> str:
    """The `cm` matrix from the page as it is shown (origin bottom left, /Rotate applied) to its own space."""
    w, h = box.x1 - box.x0, box.y1 - box.y0
    a, b, c, d, e, f = {
        0: (1, 0, 0, 1, 0, 0),
        90: (0, 1, -1, 0, w, 0),
        180: (-1, 0, 0, -1, w, h),
        270: (0, -1, 1, 0, 0, h),
    }[rotation]
    return f"{a} {b} {c} {d} {e + box.x0:.2f} {f + box.y0:.2f}"


def _winansi(text: str) -> str:
    """Text the standard Helvetica can show: characters outside Windows-1252 lose their accents, or become '?'."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        pass
    out = []
    for ch in text:
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", ch).encode("cp1252", "ignore").decode("cp1252")
            out.append(base or "?")
    return "".join(out)


def _escape(text: str) -> str:
    """The inside of a PDF literal string in WinAnsiEncoding: ( ) \\ escaped, bytes above 126 as octal."""
    parts = []
    for byte in _winansi(text).encode("cp1252"):
        if byte in (0x28, 0x29, 0x5C):
            parts.append("\\" + chr(byte))
        elif 32 <= byte < 127:
            parts.append(chr(byte))
        else:
            parts.append(f"\\{byte:03o}")
    return "".join(parts)
