"""What a receipt printer makes of ESC/POS bytes: the printed lines, QR codes, and a PNG picture of the ticket.

The PNG is drawn as on 80 mm paper (576 dots wide) so a person can read a simulated ticket.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, TYPE_CHECKING, Literal

import qrcode
from PIL import Image, ImageDraw, ImageFont

if TYPE_CHECKING:
    from os import PathLike

    from .printer_emulator import ReceivedTicket

__all__ = ["Line", "command_length", "decode", "is_cut", "is_status_query", "iter_commands", "render_png"]

ESC, GS, FS, DLE, LF, FF, HT = 0x1B, 0x1D, 0x1C, 0x10, 0x0A, 0x0C, 0x09
Align = Literal["left", "center", "right"]

# Parameter byte counts of fixed-length commands; other ESC/GS/FS sequences are skipped as a byte pair.
_ESC_ARGS = {ord(k): n for k, n in {
    "@": 0, "!": 1, "E": 1, "-": 1, "a": 1, "M": 1, "t": 1, "G": 1, "2": 0, "3": 1, "+": 1, "A": 1, "d": 1,
    "J": 1, "e": 1, "{": 1, "V": 1, "r": 1, "p": 3, "=": 1, " ": 1, "$": 2, "\\": 2, "R": 1, "U": 1, "c": 2,
    "%": 1, "T": 1}.items()}
_GS_ARGS = {ord(k): n for k, n in {
    "!": 1, "B": 1, "b": 1, "H": 1, "h": 1, "w": 1, "f": 1, "L": 2, "W": 2, "P": 2, "a": 1, "r": 1, "I": 1,
    "/": 1, "$": 2, "\\": 2, "^": 3, ":": 0, "T": 1}.items()}
_FS_ARGS = {ord(k): n for k, n in {".": 0, "&": 0, "!": 1, "-": 1, "C": 1, "S": 2, "W": 1, "p": 2}.items()}
_CUT_MODES = {0, 1, 48, 49, 65, 66, 97, 98, 103, 104}
_TWO_BYTE_CUTS = {65, 66, 97, 98, 103, 104}
# ESC t numbers as python-escpos's capability profiles assign them, mapped to Python codecs.
_CODE_TABLES = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 13: "cp857", 14: "cp737", 15: "iso8859_7",
    16: "cp1252", 17: "cp866", 18: "cp852", 19: "cp858", 21: "cp874", 32: "cp720", 33: "cp775", 34: "cp855",
    35: "cp861", 36: "cp862", 37: "cp864", 38: "cp869", 39: "iso8859_2", 40: "iso8859_15", 44: "cp1125",
    45: "cp1250", 46: "cp1251", 47: "cp1253", 48: "cp1254", 49: "cp1255", 50: "cp1256", 51: "cp1257",
    52: "cp1258", 53: "kz1048"}
_ALIGNS: dict[int, Align] = {0: "left", 1: "center", 2: "right"}
_TEXT_RUN = re.compile(rb"[\x20-\xff]+")


@dataclass(frozen=True)
class Line:
    """One printed row: text with its style, or a QR code (payload in `text`) when kind is "qr"."""

    text: str
    double_height: bool = False
    double_width: bool = False
    bold: bool = False
    align: Align = "left"
    kind: Literal["text", "qr"] = "text"


def _sized(buf: bytes, i: int, total: int) -> int | None:
    return total if i + total <= len(buf) else None


def _int_at(buf: bytes, pos: int, size: int) -> int | None:
    """Little-endian parameter at buf[pos:pos+size]; None until all of its bytes are in."""
    return int.from_bytes(buf[pos:pos + size], "little") if pos + size <= len(buf) else None


def _with_data(buf: bytes, i: int, header: int, data: int | None) -> int | None:
    return None if data is None else _sized(buf, i, header + data)


def _until_nul(buf: bytes, i: int, start: int, limit: int) -> int | None:
    end = buf.find(b"\x00", i + start, i + start + limit)
    if end >= 0:
        return end - i + 1
    # A terminator that never comes would swallow the rest of the ticket; real printers give up too.
    return None if len(buf) - i - start < limit else start


def _esc_length(buf: bytes, i: int, cmd: int) -> int | None:
    if cmd == ord("*"):  # column bit image: nL nH columns of 1 or 3 bytes
        columns = _int_at(buf, i + 3, 2)
        return _with_data(buf, i, 5, None if columns is None else columns * (1 if buf[i + 2] < 2 else 3))
    if cmd == ord("D"):
        return _until_nul(buf, i, 2, 33)
    return _sized(buf, i, 2 + _ESC_ARGS.get(cmd, 0))


def _gs_length(buf: bytes, i: int, cmd: int) -> int | None:
    if cmd == ord("("):  # GS ( x pL pH: QR codes, graphics and every other "function" command
        return _with_data(buf, i, 5, _int_at(buf, i + 3, 2))
    sub = _int_at(buf, i + 2, 1)
    if sub is None and cmd in b"8vkV*":
        return None
    if cmd == ord("8") and sub == ord("L"):
        return _with_data(buf, i, 7, _int_at(buf, i + 3, 4))
    if cmd == ord("v") and sub == ord("0"):  # raster image: xL xH bytes per row, yL yH rows
        width, height = _int_at(buf, i + 4, 2), _int_at(buf, i + 6, 2)
        return _with_data(buf, i, 8, None if height is None else width * height)
    if cmd == ord("k"):
        return _barcode_length(buf, i, sub)
    if cmd == ord("V"):
        return _sized(buf, i, 4 if sub in _TWO_BYTE_CUTS else 3)
    if cmd == ord("*"):
        rows = _int_at(buf, i + 3, 1)
        return _with_data(buf, i, 4, None if rows is None else sub * rows * 8)
    return _sized(buf, i, 2 + _GS_ARGS.get(cmd, 0))


def _barcode_length(buf: bytes, i: int, system: int) -> int | None:
    if system <= 6:  # function A: data ends with NUL
        return _until_nul(buf, i, 3, 256)
    if system >= 65:  # function B: length byte first
        return _with_data(buf, i, 4, _int_at(buf, i + 3, 1))
    return _sized(buf, i, 3)


def _fs_length(buf: bytes, i: int, cmd: int) -> int | None:
    if cmd == ord("("):
        return _with_data(buf, i, 5, _int_at(buf, i + 3, 2))
    return _sized(buf, i, 2 + _FS_ARGS.get(cmd, 0))


def _dle_length(buf: bytes, i: int, cmd: int) -> int | None:
    if cmd not in (0x04, 0x05, 0x14):
        return 1  # a stray DLE is just an unprintable byte
    if i + 2 >= len(buf):
        return None
    if cmd == 0x14:
        return _sized(buf, i, {1: 5, 2: 5, 7: 4, 8: 10}.get(buf[i + 2], 3))
    return _sized(buf, i, 4 if cmd == 0x04 and buf[i + 2] in (7, 8) else 3)


_PREFIXED = {ESC: _esc_length, GS: _gs_length, FS: _fs_length, DLE: _dle_length}


def command_length(buf: bytes, i: int) -> int | None:
    """Bytes taken by the command or text run starting at `buf[i]`; None while it is still incomplete."""
    first = buf[i]
    if first >= 0x20:
        return _TEXT_RUN.match(buf, i).end() - i
    if first not in _PREFIXED:
        return 1
    if i + 1 >= len(buf):
        return None
    return _PREFIXED[first](buf, i, buf[i + 1])


def iter_commands(raw: bytes) -> Iterator[bytes]:
    """Splits a byte stream into commands and text runs, stopping at an incomplete trailing command."""
    pos = 0
    while pos < len(raw):
        size = command_length(raw, pos)
        if size is None:
            return
        yield raw[pos:pos + size]
        pos += size


def is_cut(cmd: bytes) -> bool:
    return len(cmd) >= 3 and cmd[0] == GS and cmd[1] == ord("V") and cmd[2] in _CUT_MODES


def is_status_query(cmd: bytes) -> bool:
    return cmd[:2] == b"\x1dr" or (cmd[:2] == b"\x10\x04" and len(cmd) == 3)


def _code_table(number: int) -> str:
    name = _CODE_TABLES.get(number, "cp437")
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp437"
    return name


class _Decoder:
    """Replays the printer's text-mode state over one ticket's commands."""

    def __init__(self) -> None:
        self.lines: list[Line] = []
        self.qr: list[str] = []
        self._stored_qr: str | None = None
        self._reset()

    def _reset(self) -> None:
        # ESC @ also empties the print buffer, so a half-built line is lost just like on paper.
        self.align: Align = "left"
        self.bold = False
        self.width = self.height = 1
        self.codec = "cp437"
        self._chars: list[str] = []
        self._style: tuple = ()

    def apply(self, cmd: bytes) -> None:
        first = cmd[0]
        if first >= 0x20:
            self._put(cmd.decode(self.codec, errors="replace"))
        elif first in (LF, FF):
            self._newline()
        elif first == HT:
            self._put(" " * (8 - len("".join(self._chars)) % 8))
        elif first in (ESC, GS) and len(cmd) >= 2:
            handler = self._esc if first == ESC else self._gs
            handler(cmd[1], cmd[2] if len(cmd) > 2 else 0, cmd)

    def _esc(self, cmd: int, arg: int, _: bytes) -> None:
        if cmd == ord("@"):
            self._reset()
        elif cmd == ord("!"):  # shares one size setting with GS !; python-escpos sends either
            self.bold = bool(arg & 0x08)
            self.height, self.width = (2 if arg & 0x10 else 1), (2 if arg & 0x20 else 1)
        elif cmd == ord("E"):
            self.bold = bool(arg & 1)
        elif cmd == ord("a"):
            self.align = _ALIGNS.get(arg % 48, self.align)
        elif cmd == ord("t"):
            self.codec = _code_table(arg)
        elif cmd == ord("d"):
            for _ in range(arg):
                self._newline()
        elif cmd == ord("J") and self._chars:
            self._newline()

    def _gs(self, cmd: int, arg: int, full: bytes) -> None:
        if cmd == ord("!"):
            self.width, self.height = (arg >> 4) + 1, (arg & 0x0F) + 1
        elif cmd == ord("(") and arg == ord("k") and len(full) >= 7 and full[5] == 49:
            self._qr_function(full[6], full[8:])

    def _qr_function(self, fn: int, data: bytes) -> None:
        if fn == 80:
            self._stored_qr = data.decode("utf-8", errors="replace")
            self.qr.append(self._stored_qr)
        elif fn == 81 and self._stored_qr is not None:
            if self._chars:
                self._newline()
            self.lines.append(Line(self._stored_qr, align=self.align, kind="qr"))

    def _current_style(self) -> tuple:
        return (self.height > 1, self.width > 1, self.bold, self.align)

    def _put(self, text: str) -> None:
        # Size and alignment take effect per line on paper; the line's first character decides.
        if not self._chars:
            self._style = self._current_style()
        self._chars.append(text)

    def _newline(self) -> None:
        style = self._style if self._chars else self._current_style()
        self.lines.append(Line("".join(self._chars).rstrip(), *style))
        self._chars, self._style = [], ()

    def finish(self) -> tuple[list[Line], list[str]]:
        if self._chars:
            self._newline()
        lines = self.lines
        while lines and lines[0].kind == "text" and not lines[0].text:
            lines.pop(0)
        while lines and lines[-1].kind == "text" and not lines[-1].text:
            lines.pop()
        return lines, self.qr


def decode(raw: bytes) -> tuple[list[Line], list[str]]:
    """Printed lines and native QR payloads of an ESC/POS byte stream; never raises on malformed input."""
    decoder = _Decoder()
    for cmd in iter_commands(raw):
        decoder.apply(cmd)
    return decoder.finish()


PAPER_PX = 576  # printable width of 80 mm paper at 203 dpi
SIDE_PX = 8  # keeps glyphs off the picture's edge; the real print head has no such gap
COLUMNS = 48  # font A characters per line on 80 mm paper, where a real printer wraps
FONT_PX = 22
LINE_PX = 30  # default line spacing: 1/6 inch
QR_MODULE_PX = 5


def render_png(ticket: ReceivedTicket, target: str | PathLike[str] | IO[bytes]) -> None:
    """Draws `ticket` black on white, 576 px wide, with its QR codes where they were printed."""
    rows = [(line.align, image) for line in ticket.lines for image in _draw_line(line)]
    height = sum(image.height for _, image in rows) + LINE_PX
    page = Image.new("L", (PAPER_PX, max(height, LINE_PX)), 255)
    y = LINE_PX // 2
    for align, image in rows:
        page.paste(image, (_left_edge(align, image.width), y))
        y += image.height
    page.save(target, format="PNG")


def _left_edge(align: str, width: int) -> int:
    room = PAPER_PX - 2 * SIDE_PX - width
    return SIDE_PX + {"center": room // 2, "right": room}.get(align, 0)


def _draw_line(line: Line) -> list[Image.Image]:
    if line.kind == "qr":
        return [_draw_qr(line.text)]
    if not line.text:
        return [Image.new("L", (1, LINE_PX), 255)]
    width, height = (2 if line.double_width else 1), (2 if line.double_height else 1)
    columns = COLUMNS // width
    chunks = [line.text[i:i + columns] for i in range(0, len(line.text), columns)]
    return [_draw_text(chunk, width, height, line.bold) for chunk in chunks]


def _draw_text(text: str, width: int, height: int, bold: bool) -> Image.Image:
    # Drawn at the taller scale and squeezed, so double width and double height stay independent.
    scale = max(width, height)
    font, stroke = _font(FONT_PX * scale), int(bold) * scale
    image = Image.new("L", (int(font.getlength(text)) + 2 * stroke + 1, LINE_PX * scale), 255)
    top = max(0, (image.height - font.getbbox("Ag")[3]) // 2)
    ImageDraw.Draw(image).text((stroke, top), text, font=font, fill=0, stroke_width=stroke, stroke_fill=0)
    size = (image.width * width // scale, image.height * height // scale)
    if size[0] > PAPER_PX - 2 * SIDE_PX:
        size = (PAPER_PX - 2 * SIDE_PX, size[1])
    return image.resize(size) if size != image.size else image


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has only the small fixed bitmap font
        return ImageFont.load_default()


def _draw_qr(payload: str) -> Image.Image:
    code = qrcode.QRCode(box_size=QR_MODULE_PX, border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(payload)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    limit = PAPER_PX - 2 * SIDE_PX
    return image if image.width <= limit else image.resize((limit, limit), Image.NEAREST)
