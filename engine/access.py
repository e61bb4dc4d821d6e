"""Who may see, claim, complete and reassign a task, and see a case."""
from __future__ import annotations

from dataclasses import dataclass

from engine.models import HumanTask, Instance, User

# A lane's managers see its tasks and reassign them; they do not complete them.
LANE_MANAGERS: dict[str, set[str]] = {
    "sw": {"sw_tm", "rtm", "saat_tm"},
    "fp_pm": {"fp_tm"},
    "fsw": {"fp_tm", "fp_pm"},
    "ehfw": {"ps_mgr"},
    "sd_tray": {"ps_mgr"},
    "keyworker": {"cog_mgr"},
    "cog_bso": {"cog_mgr"},
    "cog_rep": {"cog_mgr"},
    "ssa": {"spoc_mgr"},
    "spoc_bso": {"spoc_mgr"},
    "eh_spoc": {"spoc_mgr"},
    **{lane: {"svc_mgr"} for lane in ("sw_tm", "fp_tm", "rtm", "ps_mgr", "saat_tm", "cog_mgr", "mash_mgr",
                                      "spoc_mgr", "cm_tm")},
    "svc_mgr": set(),
}
OVERSIGHT_ROLES = {"manager", "admin"}
# Who may list the deployed diagrams, on the Definitions page and in the API alike.
DEFINITION_READERS = ("analyst", "admin", "manager")
DEFINITION_DEPLOYERS = ("analyst", "admin")


def managing_roles() -> set[str]:
    """The oversight roles and every role that manages a lane: who sees the dashboard and the Cases page."""
    return OVERSIGHT_ROLES.union(*LANE_MANAGERS.values())


@dataclass(frozen=True)
class Actor:
    username: str
    roles: frozenset[str]

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.username, frozenset(user.roles or []))

    @property
    def oversees(self) -> bool:
        return bool(self.roles & OVERSIGHT_ROLES)


def acting_roles(task: HumanTask) -> set[str]:
    return {task.lane or "", *(task.also_admits or [])}


def can_act(actor: Actor, task: HumanTask) -> bool:
    """Complete or claim: the lane's role (or a role the step also admits), or the person it is offered to."""
    return bool(actor.roles & acting_roles(task)) or actor.username in {task.assignee, task.claimed_by}


def manages(actor: Actor, task: HumanTask) -> bool:
    return actor.oversees or bool(actor.roles & LANE_MANAGERS.get(task.lane or "", set()))


def can_see(actor: Actor, task: HumanTask) -> bool:
    return can_act(actor, task) or manages(actor, task)


def visible_roles(actor: Actor) -> set[str]:
    """Lanes whose tasks appear in this actor's worklist."""
    lanes = set(actor.roles)
    for lane, managers in LANE_MANAGERS.items():
        if actor.roles & managers:
            lanes.add(lane)
    return lanes


def can_view_instance(actor: Actor, instance: Instance, open_tasks: list[HumanTask]) -> bool:
    if actor.oversees or actor.username in (instance.participants or []):
        return True
    return any(can_see(actor, task) for task in open_tasks)
