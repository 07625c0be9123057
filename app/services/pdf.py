"""HTML → PDF with xhtml2pdf and the embedded DejaVu fonts; merging with pypdf; a process pool that
converts large batches on every core. Importable without the app: the pool's workers use it."""
import hashlib
import io
import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "fonts"
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


def merge(parts: list[bytes], title: str = "") -> tuple[bytes, list[int]]:
    """Concatenate PDFs; returns the file and the page count of each part."""
    from pypdf import PdfReader, PdfWriter

    writer, pages = PdfWriter(), []
    for part in parts:
        reader = PdfReader(io.BytesIO(part))
        pages.append(len(reader.pages))
        writer.append(reader)
    if title:
        writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), pages


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
