"""The case history as people read it: every read of the case stays in the audit trail, but the timeline
folds one person's reads on one day into a single line, so a finished case is not pages of "Case opened"."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
FOLDED = "case_viewed"


def day_of(at: str | None) -> str:
    return datetime.fromisoformat(at).astimezone(LONDON).date().isoformat() if at else ""


def folded(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with each person's reads of a day as one entry, where the first of them was, carrying
    "times" (how many) and "last_at" (the last read's instant)."""
    rows: list[dict[str, Any]] = []
    reads: dict[tuple[str, str], dict[str, Any]] = {}
    for event in history:
        if event["type"] != FOLDED:
            rows.append(event)
            continue
        key = (event.get("actor") or "", day_of(event.get("at")))
        if key in reads:
            reads[key]["times"] += 1
            reads[key]["last_at"] = event.get("at")
        else:
            reads[key] = {**event, "times": 1, "last_at": event.get("at")}
            rows.append(reads[key])
    return rows
