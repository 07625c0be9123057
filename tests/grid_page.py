"""Readers of what the journal grid page embeds for journal.js (which draws the cells from it)."""
import json
import re


def embedded(html: str, script_id: str):
    """The JSON the grid page embeds for its script."""
    found = re.search(rf'<script id="{script_id}" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def page_cells(html: str) -> dict:
    """The page's cells unpacked as journal.js unpacks them: "student:lesson" → {"marks": [...], "attendance": ...}."""
    out = {}
    for key, cell in embedded(html, "journal-cells").items():
        fields = ("id", "value", "work_type_id", "version", "author", "date", "comment")
        marks = [dict(zip(fields, m + [""][len(m) - 6:])) for m in cell.get("m", [])]
        attendance = dict(zip(("id", "code", "version"), cell["a"])) if "a" in cell else None
        out[key] = {"marks": marks, "attendance": attendance}
    return out


def shown_marks(html: str) -> list[int]:
    """Every mark value the page will draw, in no particular order."""
    return [m["value"] for cell in page_cells(html).values() for m in cell["marks"]]
