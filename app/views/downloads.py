"""Every file the journal hands out (extracts, summary sheets, CSV exports, roster templates) leaves
through `attachment`. Its Russian name travels as RFC 6266 `filename*=UTF-8''…` with an ASCII
`filename="…"` for old clients: a raw «В» in a header cannot be written by Werkzeug's server or
gunicorn (they encode headers as latin-1), and the browser got an empty answer."""
import re
import unicodedata
from urllib.parse import quote

from flask import Response

PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Russian letters in Latin for the ASCII fallback (ГОСТ Р 52535.1-2006, as in passports).
_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                  ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
                   "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia"], strict=True))
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')  # no path, no quote, nothing a file system refuses
_DASHES = str.maketrans({"–": "-", "—": "-", "«": "", "»": ""})


def file_name(name: str) -> str:
    """The name as a file may carry it: separators and control characters become «-», spaces collapse."""
    return re.sub(r"\s+", " ", _UNSAFE.sub("-", name)).strip(" .-") or "file"


def ascii_fallback(name: str) -> str:
    """The name in Latin letters for clients that ignore `filename*` («Выписка В-2026-000001.pdf» →
    «Vypiska V-2026-000001.pdf»)."""
    latin = "".join(_latin(ch) for ch in name.translate(_DASHES))
    plain = unicodedata.normalize("NFKD", latin).encode("ascii", "ignore").decode("ascii")
    return file_name(plain.replace("%", "_"))


def _latin(ch: str) -> str:
    low = ch.lower()
    if low not in _LATIN:
        return ch
    return _LATIN[low].capitalize() if ch != low else _LATIN[low]


def content_disposition(name: str) -> str:
    """`attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>` (RFC 6266, RFC 8187)."""
    name = file_name(name)
    return f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def attachment(body: bytes | str, name: str, mimetype: str) -> Response:
    """A file download named `name`; not kept by shared caches (children's personal data)."""
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": content_disposition(name),
                                                      "Cache-Control": "private, no-store"})
