"""Official documents as A4 PDFs with Chinese text: a title, a number line, blocks of wrapped
text and pictures, and a verification QR. Generic: it lays out what it is given and knows no
orders or hazards (their wording lives with their domain).

Rendering is deterministic: the same document gives the same bytes (the creation date is the
document's own date, not the clock's), so a re-render after a retried job stores nothing new in
the content-addressed blob store. Text wraps by character (Chinese has no spaces to break at).
The QR is drawn as vector squares with `qrcode` at level Q (media.label_print).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import WrapMode

from media.label_print import Font, matrix, runs

PAGE_W, MARGIN = 210.0, 20.0
TEXT_W = PAGE_W - 2 * MARGIN
#: Side of the printed QR (mm): a phone reads it from a hand's length.
QR_SIDE = 32.0


@dataclass(frozen=True)
class Block:
    """A paragraph: `size` in points, `indent` in mm, `align` L, C, R or J, space before it."""

    text: str
    size: float = 11.0
    indent: float = 0.0
    align: str = "J"
    before: float = 1.5


@dataclass(frozen=True)
class Picture:
    """An image (JPEG or PNG bytes) `width` mm wide, its caption lines under it; a picture
    that would cross the page's foot starts the next page."""

    data: bytes
    width: float = 80.0
    caption: tuple[str, ...] = ()
    size: float = 8.0
    before: float = 3.0


@dataclass(frozen=True)
class Qr:
    """A verification code: its content (a URL) and the caption under it."""

    data: str
    caption: str


@dataclass(frozen=True)
class Document:
    title: str
    number: str
    blocks: tuple[Block | Picture, ...]
    date: datetime
    qr: Qr | None = None
    #: Metadata: the author (an issuing body) and a subject line.
    author: str = ""
    subject: str = ""


def render(document: Document, font: Font) -> bytes:
    """The document as PDF bytes (pages as needed; the QR top right of the first page)."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_creation_date(document.date)
    pdf.set_title(document.title)
    pdf.set_author(document.author)
    pdf.set_subject(document.subject)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_font("cjk", fname=font.path, collection_font_number=font.index)
    pdf.add_page()
    if document.qr is not None:
        _qr(pdf, document.qr, PAGE_W - MARGIN - QR_SIDE, MARGIN - 8)
    pdf.set_font("cjk", size=20)
    pdf.set_y(MARGIN + 14)
    pdf.cell(TEXT_W, 12, document.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=12)
    pdf.cell(TEXT_W, 8, document.number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    for block in document.blocks:
        pdf.set_font("cjk", size=block.size)
        pdf.ln(block.before)
        if isinstance(block, Picture):
            _picture(pdf, block)
            continue
        pdf.set_x(MARGIN + block.indent)
        pdf.multi_cell(
            TEXT_W - block.indent,
            block.size * 0.5,
            block.text,
            align=block.align,
            wrapmode=WrapMode.CHAR,
            new_x="LMARGIN",
            new_y="NEXT",
        )
    return bytes(pdf.output())


def _picture(pdf: FPDF, picture: Picture) -> None:
    # Without a y, fpdf2 breaks the page before an image that does not fit and leaves the
    # position under it.
    pdf.image(io.BytesIO(picture.data), x=MARGIN, w=picture.width)
    for line in picture.caption:
        pdf.multi_cell(
            TEXT_W,
            picture.size * 0.5,
            line,
            align="L",
            wrapmode=WrapMode.CHAR,
            new_x="LMARGIN",
            new_y="NEXT",
        )


def _qr(pdf: FPDF, qr: Qr, x0: float, y0: float) -> None:
    modules, _version = matrix(qr.data)
    module = QR_SIDE / len(modules)
    pdf.set_fill_color(0, 0, 0)
    for y, row in enumerate(modules):
        for x, run in runs(row):
            pdf.rect(x0 + x * module, y0 + y * module, run * module, module, style="F")
    pdf.set_font("cjk", size=7)
    pdf.set_xy(x0 - 4, y0 + QR_SIDE)
    pdf.cell(QR_SIDE + 8, 4, qr.caption, align="C")
