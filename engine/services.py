"""Service-task operators. Each runs once per execution of its task: the task uuid is the idempotency key."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engine.calendar import local_iso
from engine.messages import render_message
from engine.models import Instance, Notification, ServiceCall, User, db, utcnow
from engine.settings import get_settings


@dataclass
class StepContext:
    """What a service needs to know about the step it runs in; history is appended by the runtime."""

    instance: Instance
    actor: str | None
    history: list[dict] = field(default_factory=list)

    def record(self, type_: str, bpmn_id: str | None = None, task_id: str | None = None, **detail: Any) -> None:
        self.history.append({"type": type_, "bpmn_id": bpmn_id, "task_id": task_id, "detail": detail})


Operator = Callable[[StepContext, str, dict], dict]


def resolve_recipients(to: list[str] | str, team: str | None) -> list[User]:
    targets = [to] if isinstance(to, str) else list(to or [])
    users = {u.username: u for u in db.session.execute(db.select(User)).scalars()}
    chosen: dict[str, User] = {}
    for target in targets:
        if not target:
            continue
        if target.startswith("user:"):
            user = users.get(target[5:])
            if user is not None:
                chosen[user.username] = user
            continue
        for user in users.values():
            if target in (user.roles or []) and in_team(user, team):
                chosen[user.username] = user
    return sorted(chosen.values(), key=lambda u: u.username)


def in_team(user: User, team: str | None) -> bool:
    """A user with no team hears from every team; a team value matches a hub or a hub_team name."""
    if not team or not user.teams:
        return True
    return any(team == t or team.startswith(f"{t}_") or t.startswith(f"{team}_") for t in user.teams)


def send_notification(ctx: StepContext, task_id: str, params: dict) -> dict:
    template = params.get("template") or "update"
    data = params.get("data") or {}
    recipients = resolve_recipients(params.get("to") or [], params.get("team"))
    subject, body = render_message(template, ctx.instance.case_ref, data, ctx.instance.id)
    for user in recipients:
        db.session.add(Notification(
            instance_id=ctx.instance.id, source_key=task_id, recipient=user.username,
            template=template, subject=subject, body=body,
        ))
    names = [u.username for u in recipients]
    ctx.record("notification_queued", task_id=task_id, template=template, recipients=names)
    return {"sent_to": names}


def close_case(ctx: StepContext, task_id: str, params: dict) -> dict:
    system = params.get("system") or "case_system"
    closed_at = local_iso(utcnow())
    ctx.record("case_closed", task_id=task_id, system=system, case_ref=params.get("case_ref"))
    return {"closed": True, "system": system, "closed_at": closed_at}


def transfer_record(ctx: StepContext, task_id: str, params: dict) -> dict:
    ctx.record("record_transferred", task_id=task_id, **{k: v for k, v in params.items() if k != "task_id"})
    return {"transferred": True, "at": local_iso(utcnow())}


def create_contact(ctx: StepContext, task_id: str, params: dict) -> dict:
    """A contact saved and finalised in the case system; each execution of the step is a new contact."""
    contact_id = f"CT-{ctx.instance.id}-{task_id[:8]}"
    ctx.record("contact_created", task_id=task_id, contact_id=contact_id,
               **{k: v for k, v in params.items() if k != "task_id"})
    return {"contact_id": contact_id, "created_at": local_iso(utcnow())}


def lookup_cog_team(ctx: StepContext, task_id: str, params: dict) -> dict:
    """The COG team whose postcode districts include the family's postcode (settings: cog_teams)."""
    district = str(params.get("family_postcode") or "").upper().split(" ")[0]
    for team, districts in get_settings().get("cog_teams", {}).items():
        if district in districts:
            return {"team": team, "found": True}
    return {"team": None, "found": False}


OPERATORS: dict[str, Operator] = {
    "send_notification": send_notification,
    "close_case": close_case,
    "transfer_record": transfer_record,
    "create_contact": create_contact,
    "lookup_cog_team": lookup_cog_team,
}


def call(ctx: StepContext, task_id: str, bpmn_id: str, operator: str, params: dict) -> dict:
    """Run an operator unless this execution of the task already ran it; then return its first result."""
    done = db.session.get(ServiceCall, task_id)
    if done is not None:
        return done.result
    handler = OPERATORS.get(operator)
    if handler is None:
        raise ValueError(f"unknown service operator {operator}")
    result = handler(ctx, task_id, params)
    db.session.add(ServiceCall(task_id=task_id, instance_id=ctx.instance.id, operator=operator,
                               params=params, result=result))
    ctx.record("service_called", bpmn_id=bpmn_id, task_id=task_id, operator=operator, result=result)
    return result
