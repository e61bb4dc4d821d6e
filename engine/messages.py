"""The wording of notifications, by template id. A diagram names the template; people read this."""
from __future__ import annotations

from typing import Any

SUBJECTS: dict[str, str] = {
    "yps_consideration": "Consider YPS involvement",
    "step_down_request": "Step down request received",
    "step_down_accepted": "Step down accepted: allocate a Family Support Worker",
    "allocation_breach": "Family Support Worker not allocated within 20 working days",
    "fsw_allocated": "Family Support Worker allocated",
    "first_review_due": "First Early Help review scheduled",
    "change_of_circumstances": "Change of circumstances on a step down",
}


def label(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "—"


def render_message(template: str, case_ref: str, data: dict[str, Any]) -> tuple[str, str]:
    title = SUBJECTS.get(template, label(template).capitalize())
    subject = f"{title} — case {case_ref}"
    lines = [f"{title}.", f"Case reference: {case_ref}"]
    lines += [f"{label(key).capitalize()}: {label(value)}" for key, value in sorted(data.items())]
    return subject, "\n".join(lines)
