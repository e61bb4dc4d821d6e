"""The wording of notifications, by template id. A diagram names the template; people read this."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

SUBJECTS: dict[str, str] = {
    "raise_yps_involvement": "Take this family to the YPS manager: consider YPS involvement",
    "step_down_request_sent": "Request to step down to Early Help received",
    "step_down_accepted": "Step down accepted: a Family Support Worker will be allocated",
    "allocation_breached": "Family Support Worker not allocated within 20 working days",
    "first_early_help_review": "First Early Help review scheduled",
    "family_circumstances_changed": "Family circumstances changed: the step down has stopped",
    "community_ehap_step_down": "Stepped down to a community setting: a community EHAP follows",
    "contact_overdue": "The family has not been contacted within 48 working hours",
    "ecaf_referral_sent_back": "The ECAF referral was sent back: information is missing",
    "meeting_not_recorded_in_window": "No step down meeting recorded by the end of week 2",
    "provisional_meeting_cancelled": "The provisional step down meeting is cancelled",
    "step_down_rediscussion": "The step down goes back to the next consultation",
    "sa_step_down_allocated": "Single assessment stepped down: an Early Help worker is allocated",
    "sa_step_down_stopped": "Single assessment step down stopped",
    "step_up_not_escalated": "Step up not escalated: the case stays with Early Help",
    "mash_feedback_overdue": "MASH feedback not given within 24 working hours",
    "mash_feedback_csc_accepted": "MASH feedback: CSC Accepted",
    "mash_feedback_csc_rejected": "MASH feedback: CSC Rejected",
    "csc_rejected_remains_with_early_help": "CSC rejected the step up: Early Help continues",
    "sa_step_up_window_passed": "More than 4 weeks since the de-escalation: standard step-up route",
}


def label(value: Any) -> str:
    return str(value).replace("_", " ") if value is not None else "—"


def written(value: Any) -> str:
    """A value as a person writes it: dates and instants in words (Europe/London), choices in words."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return date.fromisoformat(value).strftime("%a %-d %b %Y")
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+([+-]\d{2}:\d{2}|Z)", value):
        return datetime.fromisoformat(value).astimezone(LONDON).strftime("%a %-d %b %Y at %H:%M")
    if isinstance(value, list):
        return ", ".join(written(v) for v in value)
    return label(value)


def render_message(template: str, case_ref: str, data: dict[str, Any], instance_id: int | None = None
                   ) -> tuple[str, str]:
    """A message to a person: the subject, one sentence saying what happened, the case and where to open it,
    then what the step passed on, in words."""
    title = SUBJECTS.get(template, label(template).capitalize())
    subject = f"{title} — case {case_ref}"
    lines = [f"{title}.", "", f"Case reference: {case_ref}"]
    if instance_id is not None:
        lines.append(f"Open the case in Stepwise: /instances/{instance_id}")
    details = [f"{label(key).capitalize()}: {written(value)}" for key, value in sorted(data.items())
               if value not in (None, "", [], {})]
    if details:
        lines += ["", *details]
    return subject, "\n".join(lines)
