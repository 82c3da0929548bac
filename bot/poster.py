"""A printable QR poster (PNG): a title, the QR code, one line of instructions.

Drawn with segno (the QR code) and Pillow, in a CJK font: the font file WISHBOT_POSTER_FONT
names, or Debian's fonts-wqy-microhei (scripts/browser.sh installs it).
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
# A4 at 150 dpi, portrait.
WIDTH, HEIGHT = 1240, 1754
MARGIN = 90
QR_TOP = 380
QR_QUIET_ZONE = 4  # modules of white around the code, as the standard asks


class PosterError(Exception):
    pass


@dataclass(frozen=True)
class QRBox:
    """Where the code's modules are on the poster: module (row, col) is the square of side
    `module` at (left + col*module, top + row*module)."""
    left: int
    top: int
    module: int
    size: int  # modules per side, without the quiet zone


def font_path(chosen: str | None = None) -> str:
    """`chosen` (Settings.poster_font) when it exists, else the first CJK font installed."""
    for candidate in ([chosen] if chosen else []) + list(FONT_CANDIDATES):
        if Path(candidate).is_file():
            return candidate
    raise PosterError("no CJK font for the poster: install fonts-wqy-microhei "
                      "(bash scripts/browser.sh does) or set WISHBOT_POSTER_FONT")


def make_code(data: str) -> segno.QRCode:
    return segno.make(data, error="m")


def qr_box(code: segno.QRCode) -> QRBox:
    size = code.symbol_size(border=0)[0]
    module = (WIDTH - 2 * MARGIN) // (size + 2 * QR_QUIET_ZONE)
    side = module * (size + 2 * QR_QUIET_ZONE)
    return QRBox(left=(WIDTH - side) // 2 + module * QR_QUIET_ZONE, top=QR_TOP + module * QR_QUIET_ZONE,
                 module=module, size=size)


def render(data: str, title: str, instruction: str, footer: str = "微心愿助手",
           font: str | None = None) -> bytes:
    """The poster as PNG bytes."""
    font = font_path(font)
    poster = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(poster)
    _centred(draw, title, ImageFont.truetype(font, _fit(draw, title, font, 110)), 150)

    code = make_code(data)
    box = qr_box(code)
    png = io.BytesIO()
    code.save(png, kind="png", scale=box.module, border=QR_QUIET_ZONE)
    image = Image.open(io.BytesIO(png.getvalue())).convert("RGB")
    poster.paste(image, (box.left - box.module * QR_QUIET_ZONE, box.top - box.module * QR_QUIET_ZONE))

    below = box.top + box.size * box.module + box.module * QR_QUIET_ZONE + 80
    _centred(draw, instruction, ImageFont.truetype(font, _fit(draw, instruction, font, 64)), below)
    _centred(draw, footer, ImageFont.truetype(font, 44), HEIGHT - 140, fill="#666666")
    out = io.BytesIO()
    poster.save(out, format="PNG", dpi=(150, 150))
    return out.getvalue()


def _fit(draw: ImageDraw.ImageDraw, text: str, font: str, size: int) -> int:
    """The largest size up to `size` at which `text` fits between the margins."""
    while size > 24 and draw.textlength(text, font=ImageFont.truetype(font, size)) > WIDTH - 2 * MARGIN:
        size -= 4
    return size


def _centred(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, top: int,
             fill: str = "black") -> None:
    width = draw.textlength(text, font=font)
    draw.text(((WIDTH - width) / 2, top), text, font=font, fill=fill)
