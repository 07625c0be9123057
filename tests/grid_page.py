"""Readers of what the journal grid page embeds for journal.js (which draws the cells from it)."""
import datetime as dt
import json
import re


def embedded(html: str, script_id: str):
    """The JSON the grid page embeds for its script."""
    found = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def page_cells(html: str) -> dict:
    """The page's cells unpacked as journal.js unpacks them: "student:lesson" → {"marks": [...], "attendance": ...}."""
    packed, out = embedded(html, "journal-cells"), {}
    days = {lesson["id"]: dt.date.fromisoformat(lesson["date"]) for lesson in embedded(html, "journal-lessons")}
    for key, cell in packed["c"].items():
        day = days[int(key.split(":")[1])]
        marks = [{"id": m[0], "value": m[1], "work_type_id": m[2], "version": m[3], "author": packed["u"][m[4]],
                  "date": None if m[5] is None else (day + dt.timedelta(days=m[5])).isoformat(),
                  "comment": m[6] if len(m) > 6 else ""} for m in cell.get("m", [])]
        attendance = dict(zip(("id", "code", "version"), cell["a"])) if "a" in cell else None
        out[key] = {"marks": marks, "attendance": attendance}
    return out


def shown_marks(html: str) -> list[int]:
    """Every mark value the page will draw, in no particular order."""
    return [m["value"] for cell in page_cells(html).values() for m in cell["marks"]]
