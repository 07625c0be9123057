"""Results: the one weighted average and proposed final, used by the journal, forecast, extracts
and statistics alike (SPEC §4)."""
from collections.abc import Iterable

from flask import current_app, has_app_context

DEFAULT_THRESHOLDS = (4.60, 3.60, 2.60)


def weighted_average(marks: Iterable[tuple[int, int]]) -> float | None:
    """Σ(value·weight)/Σ(weight) over (value, weight) pairs; None without marks."""
    total = weights = 0
    for value, weight in marks:
        total += value * weight
        weights += weight
    return round(total / weights, 2) if weights else None


def thresholds() -> tuple[float, float, float]:
    """The 5/4/3 thresholds from settings."""
    if has_app_context():
        return tuple(current_app.config.get("FINAL_THRESHOLDS", DEFAULT_THRESHOLDS))
    return DEFAULT_THRESHOLDS


def proposed_final(average: float | None, marks_count: int, min_marks: int | None = None) -> int | None:
    """5 if avg ≥ 4.60, 4 if ≥ 3.60, 3 if ≥ 2.60, else 2; None with too few marks."""
    if min_marks is None:
        min_marks = current_app.config.get("MIN_MARKS_FOR_FINAL", 3) if has_app_context() else 3
    if average is None or marks_count < min_marks:
        return None
    five, four, three = thresholds()
    return 5 if average >= five else 4 if average >= four else 3 if average >= three else 2
