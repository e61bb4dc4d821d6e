"""The wording of notifications, by template id. A diagram names the template; people read this."""
from __future__ import annotations

from typing import Any

SUBJECTS: dict[str, str] = {
    "raise_yps_involvement": "Take this family to the YPS manager: consider YPS involvement",
    "step_down_request_sent": "Request to step down to Early Help received",
    "step_down_accepted": "Step down accepted: a Family Support Worker will be allocated",
    "allocation_breached": "Family Support Worker not allocated within 20 working days",
    "first_early_help_review": "First Early Help review scheduled",
    "family_circumstances_changed": "Family circumstances changed: the step down has stopped",
}


def label(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "—"


def render_message(template: str, case_ref: str, data: dict[str, Any]) -> tuple[str, str]:
    title = SUBJECTS.get(template, label(template).capitalize())
    subject = f"{title} — case {case_ref}"
    lines = [f"{title}.", f"Case reference: {case_ref}"]
    lines += [f"{label(key).capitalize()}: {label(value)}" for key, value in sorted(data.items())]
    return subject, "\n".join(lines)
