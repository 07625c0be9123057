"""HTML → PDF with xhtml2pdf and the embedded DejaVu fonts; merging with pypdf and stamping each page's
footer with «стр. N из M»; a process pool that converts large batches on every core. Importable
without the app: the pool's workers use it."""
import hashlib
import io
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
CM = 72 / 2.54
# The stamped footer line sits where extracts/_pdf_style.html's footer frame puts #footer: centred
# between the 1.6 cm and 1.4 cm margins, 7.5 pt grey, on the baseline 36.8 pt above the page's bottom.
FOOTER_LEFT, FOOTER_RIGHT, FOOTER_BASELINE, FOOTER_SIZE, FOOTER_GREY = 1.6 * CM, 1.4 * CM, 36.8, 7.5, 0x44 / 0xFF
STAMP_FONT = "DejaVuFooter"
_pool: ProcessPoolExecutor | None = None


class PdfError(RuntimeError):
    """xhtml2pdf could not lay the document out."""


def font_css() -> str:
    """@font-face rules of DejaVu Sans regular and bold (emit with |safe: quotes must stay quotes)."""
    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    return (f'@font-face {{ font-family: "DejaVu"; src: url("{regular}"); }}\n'
            f'@font-face {{ font-family: "DejaVu"; src: url("{bold}"); font-weight: bold; }}\n')


def html_to_pdf(html: str) -> bytes:
    """One HTML document → PDF bytes; PdfError when xhtml2pdf reports errors."""
    from xhtml2pdf import pisa

    out = io.BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8")
    if result.err:
        raise PdfError(f"xhtml2pdf: {result.err} error(s)")
    return out.getvalue()


def page_count(data: bytes) -> int:
    """Pages of a PDF."""
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


def merge(documents: list[list[bytes]], footers: list[str] | None = None, title: str = "") -> tuple[bytes, list[int]]:
    """Concatenate documents, each of one or more PDFs; with footers, every page gets the line
    «<footer> · стр. N из M», N and M counted in its document (xhtml2pdf's own <pdf:pagecount> lays a
    document out twice, and a part shared by several documents could not hold their numbers).
    Returns the file and the page count of each document."""
    from pypdf import PdfReader, PdfWriter

    writer, pages = PdfWriter(), []
    for parts in documents:
        readers = [PdfReader(io.BytesIO(part)) for part in parts]  # a reader per copy: no shared pages
        pages.append(sum(len(reader.pages) for reader in readers))
        for reader in readers:
            writer.append(reader)
    if footers is not None:
        _stamp_footers(writer, footers, pages)
    if title:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), pages


def _stamp_font() -> str:
    """DejaVu Sans registered with reportlab once per process (the footer has Cyrillic letters)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if STAMP_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(STAMP_FONT, str(FONT_DIR / "DejaVuSans.ttf")))
    return STAMP_FONT


def _stamp_footers(writer, footers: list[str], counts: list[int]) -> None:
    """Draw each page's footer line: one reportlab overlay page per page, merged onto it."""
    from pypdf import PdfReader
    from reportlab.pdfgen.canvas import Canvas

    font, buffer = _stamp_font(), io.BytesIO()
    canvas, pages = Canvas(buffer, invariant=1), list(writer.pages)
    lines = [f"{footer} · стр. {n} из {total}" for footer, total in zip(footers, counts, strict=True)
             for n in range(1, total + 1)]
    for page, line in zip(pages, lines, strict=True):
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        canvas.setPageSize((width, height))
        canvas.setFont(font, FOOTER_SIZE)
        canvas.setFillGray(FOOTER_GREY)
        canvas.drawCentredString((FOOTER_LEFT + width - FOOTER_RIGHT) / 2, FOOTER_BASELINE, line)
        canvas.showPage()
    canvas.save()
    for page, stamp in zip(pages, PdfReader(buffer).pages, strict=True):
        page.merge_page(stamp)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(data).hexdigest()


def _warm() -> None:
    """Worker initializer: import xhtml2pdf and reportlab once per worker."""
    import xhtml2pdf.pisa  # noqa: F401


def pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The process pool (spawned workers, kept warm for the next batch), one worker per core."""
    global _pool
    if _pool is None:
        count = workers or max(1, min(os.cpu_count() or 1, 4))
        _pool = ProcessPoolExecutor(count, mp_context=get_context("spawn"), initializer=_warm)
    return _pool
