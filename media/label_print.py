"""Printable QR labels: a QR code with a heading, lines of text and a warning, as PNG, SVG and
a PDF sheet of several. Generic: it knows cards, not what they are stuck on.

The QR is made with `qrcode` at error-correction level Q (25 % of the codewords may be lost):
a label outdoors or in a plant gets dirt, scratches and glare, and is scanned in poor light,
so Q over M; H would grow the code by about two versions for damage a label rarely has, and
makes modules smaller at the same print size, which hurts more in poor light (README,
"QR labels"). The version is the smallest that holds the text. Modules are drawn as vectors in
SVG and PDF, and pixel-exact in PNG (an integral number of pixels per module), with the
4-module quiet zone the standard asks for.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

import qrcode
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_Q

#: Quiet zone around the code, in modules (ISO/IEC 18004).
QUIET_ZONE = 4
WARNING_RED = (200, 16, 46)


@dataclass(frozen=True)
class Card:
    """One label: `data` goes into the QR; `title` (large), `lines` and `warning` are text."""

    data: str
    title: str
    lines: tuple[str, ...]
    heading: str
    warning: str


@dataclass(frozen=True)
class Font:
    path: str
    index: int = 0


def matrix(data: str) -> tuple[list[list[bool]], int]:
    """The QR modules (quiet zone included) and the version chosen."""
    qr = qrcode.QRCode(version=None, error_correction=ERROR_CORRECT_Q, border=QUIET_ZONE)
    qr.add_data(data)
    qr.make(fit=True)
    return qr.get_matrix(), qr.version


def png(card: Card, font: Font, *, module_px: int = 12) -> bytes:
    """The card as a PNG, about 10 cm wide at 300 dpi with the default module size."""
    modules, _version = matrix(card.data)
    side = len(modules) * module_px
    width = max(side, 1200)
    big = ImageFont.truetype(font.path, 72, index=font.index)
    mid = ImageFont.truetype(font.path, 48, index=font.index)
    small = ImageFont.truetype(font.path, 40, index=font.index)
    banner, text_h = 120, 64 + 56 * len(card.lines) + 120
    image = Image.new("RGB", (width, banner + side + text_h), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, banner), fill=WARNING_RED)
    draw.text((width / 2, banner / 2), card.heading, font=big, fill="white", anchor="mm")
    left = (width - side) // 2
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                x0, y0 = left + x * module_px, banner + y * module_px
                draw.rectangle((x0, y0, x0 + module_px - 1, y0 + module_px - 1), fill="black")
    y = banner + side + 8
    draw.text((width / 2, y), card.title, font=mid, fill="black", anchor="ma")
    y += 64
    for line in card.lines:
        draw.text((width / 2, y), line, font=small, fill="black", anchor="ma")
        y += 56
    for part in _wrap(card.warning, 22):
        draw.text((width / 2, y), part, font=small, fill=WARNING_RED, anchor="ma")
        y += 52
    out = io.BytesIO()
    image.save(out, "PNG", dpi=(300, 300))
    return out.getvalue()


def svg(card: Card, *, module_mm: float = 1.2) -> str:
    """The card as SVG (units: mm); text is real text, the QR one path of unit squares."""
    modules, _version = matrix(card.data)
    n = len(modules)
    side = n * module_mm
    width = max(side, 80.0)
    banner = 12.0
    left = (width - side) / 2
    path = "".join(
        f"M{x} {y}h{run}v1h-{run}z" for y, row in enumerate(modules) for x, run in runs(row)
    )
    texts = [(banner + side + 7, 5.5, "black", card.title)]
    y = banner + side + 7
    for line in card.lines:
        y += 6
        texts.append((y, 4.0, "black", line))
    for part in _wrap(card.warning, 22):
        y += 6
        texts.append((y, 4.0, "#c8102e", part))
    height = y + 6
    body = "".join(
        f'<text x="{width / 2:.2f}" y="{ty:.2f}" font-size="{size}" fill="{fill}" '
        f'text-anchor="middle">{escape(text)}</text>'
        for ty, size, fill, text in texts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.2f}mm" height="{height:.2f}mm" '
        f'viewBox="0 0 {width:.2f} {height:.2f}" '
        'font-family="Noto Sans CJK SC, Source Han Sans SC, sans-serif">'
        f'<rect width="{width:.2f}" height="{height:.2f}" fill="#fff"/>'
        f'<rect width="{width:.2f}" height="{banner}" fill="#c8102e"/>'
        f'<text x="{width / 2:.2f}" y="{banner * 0.72:.2f}" font-size="8" fill="#fff" '
        f'text-anchor="middle" font-weight="bold">{escape(card.heading)}</text>'
        f'<path transform="translate({left:.2f} {banner}) scale({module_mm})" d="{path}"/>'
        f"{body}</svg>\n"
    )


def pdf(cards: list[Card], font: Font) -> bytes:
    """An A4 sheet (pages as needed) of cards, two by two, the QR drawn as vectors."""
    doc = FPDF(unit="mm", format="A4")
    doc.set_auto_page_break(False)
    doc.add_font("cjk", fname=font.path, collection_font_number=font.index)
    cell_w, cell_h, margin = 95.0, 138.0, 10.0
    for i, card in enumerate(cards):
        if i % 4 == 0:
            doc.add_page()
        x0 = margin + (i % 2) * cell_w
        y0 = margin + ((i // 2) % 2) * cell_h
        _pdf_card(doc, card, x0, y0, cell_w - 5, cell_h - 5)
    return bytes(doc.output())


def _pdf_card(doc: FPDF, card: Card, x0: float, y0: float, w: float, h: float) -> None:
    doc.set_draw_color(160, 160, 160)
    doc.rect(x0, y0, w, h)
    doc.set_fill_color(*WARNING_RED)
    doc.rect(x0, y0, w, 12, style="F")
    doc.set_text_color(255, 255, 255)
    doc.set_font("cjk", size=20)
    doc.set_xy(x0, y0 + 1)
    doc.cell(w, 10, card.heading, align="C")
    modules, _version = matrix(card.data)
    module = min(1.3, 68 / len(modules))
    left = x0 + (w - len(modules) * module) / 2
    top = y0 + 14
    doc.set_fill_color(0, 0, 0)
    for y, row in enumerate(modules):
        for x, run in runs(row):
            doc.rect(left + x * module, top + y * module, run * module, module, style="F")
    doc.set_text_color(0, 0, 0)
    doc.set_xy(x0, top + len(modules) * module + 2)
    doc.set_font("cjk", size=14)
    doc.cell(w, 7, card.title, align="C", new_x="LEFT", new_y="NEXT")
    doc.set_font("cjk", size=10)
    for line in card.lines:
        doc.set_x(x0)
        doc.cell(w, 5.5, line, align="C", new_x="LEFT", new_y="NEXT")
    doc.set_text_color(*WARNING_RED)
    for part in _wrap(card.warning, 22):
        doc.set_x(x0)
        doc.cell(w, 5.5, part, align="C", new_x="LEFT", new_y="NEXT")


def runs(row: list[bool]):
    """(start, length) of each run of dark modules in a row."""
    x = 0
    while x < len(row):
        if row[x]:
            start = x
            while x < len(row) and row[x]:
                x += 1
            yield start, x - start
        else:
            x += 1


def _wrap(text: str, width: int) -> list[str]:
    """Split at the given separators first (the warning's clauses), then by length."""
    parts: list[str] = []
    for clause in text.split("\n"):
        while len(clause) > width:
            parts.append(clause[:width])
            clause = clause[width:]
        if clause:
            parts.append(clause)
    return parts
