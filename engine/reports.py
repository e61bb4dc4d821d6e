"""Read-only figures for managers, from the worklist, history and instance tables (never from workflow blobs).

Every figure is a few aggregate queries; no workflow is ever deserialized. The only XML read is the latest
diagram of a process, to learn which steps carry which timescale; it is parsed once per deployed version.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import CTE, ColumnElement, CompoundSelect, case, exists, func, literal, select, union

from engine.definitions import latest_definition, parse_xml
from engine.models import Event, HumanTask, Instance, InstanceChild, UTCDateTime, db, utcnow

LONDON = ZoneInfo("Europe/London")
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
STEP_DOWN_PROCESSES = ("stepdown_locality", "stepdown_response", "single_assessment")
STEP_UP_PREFIX = "stepup"
STEPPED_DOWN_PREFIX = "stepped_down"
BOUNCE_MONTHS = (3, 6)
LATENESS_TARGET_P99 = 1.0  # seconds, for the embedded default
NO_TEAM = "no team recorded"
NO_LANE = "no lane"

# The spec's wording (§6), so a manager reads the same sentence as the guide it came from.
TIMESCALE_LABELS = {
    "T1": "FSW allocated within 20 working days",
    "T2": "3 weeks' notice of the CIN review",
    "T3": "Early Help review every 8 weeks",
    "T6": "step-down meeting within 1–2 weeks",
    "T7": "closure and ECAF referral within 3 working days",
    "T8": "EHFW contact within 48 working hours",
    "T11": "MASH feedback within 24 working hours",
    "T15": "10 working days' notice of the joint visit",
    "T16": "10 working days' notice of the CIN meeting",
    "T17": "5 working days' notice of the home visit",
    "T18": "Access e-mail reviewed within 24 working hours",
    "T19": "community EHAP completed within 6 weeks",
    "T22": "CIN meeting within 7 days",
    "T23": "Child Protection Conference within 15 working days",
}


# ---- the period ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Whole days in Europe/London, both ends included."""

    first: date
    last: date

    @classmethod
    def last_months(cls, months: int = 3, today: date | None = None) -> Period:
        today = today or utcnow().astimezone(LONDON).date()
        return cls(today - relativedelta(months=months), today)

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.first, time(), LONDON)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (half-open), so the last day counts in full."""
        return datetime.combine(self.last + timedelta(days=1), time(), LONDON)

    def holds(self, column: ColumnElement) -> ColumnElement:
        return (column >= self.starts_at) & (column < self.ends_at)

    def holds_deadline(self, column: ColumnElement) -> ColumnElement:
        """A deadline is an instant at 00:00 after its due date, so it belongs to the day before it."""
        return (column > self.starts_at) & (column <= self.ends_at)


# ---- the heatmap -----------------------------------------------------------------------------------------

def waiting_by_step(process_id: str, lanes: list[str] | None = None) -> dict[str, int]:
    """How many cases wait at each step of a process now: the heatmap's numbers (in these lanes, if given)."""
    query = (select(HumanTask.bpmn_id, func.count(func.distinct(HumanTask.instance_id)))
             .where(HumanTask.process_id == process_id, HumanTask.state == "open").group_by(HumanTask.bpmn_id))
    if lanes is not None:
        query = query.where(HumanTask.lane.in_(lanes))
    rows = db.session.execute(query).all()
    return {bpmn_id: count for bpmn_id, count in rows}


# ---- overdue tasks ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Overdue:
    lane: str
    team: str
    count: int


def overdue_tasks(process_id: str, now: datetime | None = None, lanes: list[str] | None = None) -> list[Overdue]:
    """Open tasks past their due instant, counted by lane and by the instance's team.

    The team is what the start form gave (`team`, else `hub`), read from the instance_started event; joined
    per overdue task through the events' instance index, so only those tasks' start events are read.
    """
    started = Event.__table__.alias("started")
    team = func.coalesce(started.c.detail[("data", "team")].as_string(),
                         started.c.detail[("data", "hub")].as_string())
    query = (select(HumanTask.lane, team, func.count())
             .outerjoin(started, (started.c.instance_id == HumanTask.instance_id)
                        & (started.c.type == "instance_started"))
             .where(HumanTask.process_id == process_id, HumanTask.state == "open",
                    HumanTask.due_at < (now or utcnow()))
             .group_by(HumanTask.lane, team))
    if lanes is not None:
        query = query.where(HumanTask.lane.in_(lanes))
    rows = db.session.execute(query).all()
    return sorted((Overdue(lane or NO_LANE, team or NO_TEAM, count) for lane, team, count in rows),
                  key=lambda o: (o.lane, o.team))


def totals(rows: list[Overdue], key: str) -> dict[str, int]:
    """Overdue counts summed by "lane" or by "team"."""
    summed: dict[str, int] = {}
    for row in rows:
        summed[getattr(row, key)] = summed.get(getattr(row, key), 0) + row.count
    return dict(sorted(summed.items()))


# ---- which steps carry which timescale -------------------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """A timescale as one step of a process measures it: by a boundary timer, or by a form's override rule."""

    timescale: str
    kind: str  # "timer": met when the guarded task is done by the timer's instant; "override": notice given
    step: str
    step_name: str
    timers: tuple[str, ...] = ()  # the boundary timers of this timescale on the step (kind "timer")

    @property
    def label(self) -> str:
        return TIMESCALE_LABELS.get(self.timescale, self.step_name)


@dataclass(frozen=True)
class DiagramFacts:
    names: dict[str, str]  # element id -> name
    timers: dict[tuple[str, str], tuple[str, ...]]  # (timescale, guarded step) -> timer ids
    forms: dict[str, str]  # user task id -> its form's file name


def spiff_properties(element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in element.iter(f"{SPIFF}property")}


def step_names(xml: str) -> dict[str, str]:
    """Element id -> its readable name, for every named element of a diagram."""
    return dict(diagram_facts(xml).names)


@lru_cache(maxsize=32)
def diagram_facts(xml: str) -> DiagramFacts:
    """What the dashboard needs from one deployed diagram; cached, since a version's XML never changes."""
    root = parse_xml(xml.encode("utf-8")).getroot()
    timers: dict[tuple[str, str], tuple[str, ...]] = {}
    for event in root.iter(f"{BPMN}boundaryEvent"):
        timescale = spiff_properties(event).get("timescale")
        if timescale and event.find(f"{BPMN}timerEventDefinition") is not None:
            key = (timescale, event.get("attachedToRef"))
            timers[key] = (*timers.get(key, ()), event.get("id"))
    return DiagramFacts(
        names={e.get("id"): e.get("name") for e in root.iter() if e.get("id") and e.get("name")},
        timers=timers,
        forms={t.get("id"): spiff_properties(t)["formJsonSchemaFilename"] for t in root.iter(f"{BPMN}userTask")
               if spiff_properties(t).get("formJsonSchemaFilename")},
    )


def override_rules(schema: dict) -> list[str]:
    return [r["rule"] for r in schema.get("x-rules", []) if r.get("kind") == "override" and r.get("rule")]


def measures(process_id: str) -> list[Measure]:
    """Every timescale the latest deployed diagram of a process measures, in timescale order."""
    definition = latest_definition(process_id)
    if definition is None:
        return []
    facts = diagram_facts(definition.bpmn_xml)
    found = {Measure(ts, "timer", step, facts.names.get(step, step), tuple(sorted(ids)))
             for (ts, step), ids in facts.timers.items()}
    for step, form in facts.forms.items():
        for rule in override_rules((definition.forms or {}).get(form, {})):
            found.add(Measure(rule, "override", step, facts.names.get(step, step)))
    return sorted(found, key=lambda m: (int(m.timescale[1:]) if m.timescale[1:].isdigit() else math.inf,
                                        m.timescale, m.kind, m.step))


# ---- compliance --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Compliance:
    measure: Measure
    met: int
    missed: int
    pending: int  # open, not yet due and not breached: neither met nor missed yet

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def percent(self) -> float | None:
        return round(100 * self.met / self.decided, 1) if self.decided else None


def compliance(process_id: str, period: Period, now: datetime | None = None) -> list[Compliance]:
    """Each timescale's record over the period.

    Timer: a deadline counts when it falls due in the period. Met: the task was completed on or before its due
    instant and none of the step's timers of that timescale fired while it was open. Missed: completed after
    the due instant, still open past it, cancelled after it (an interrupting timer), or breached while open.
    Override: a completion in the period counts; met = the step was completed without overriding that
    timescale's rule.
    """
    now = now or utcnow()
    found = measures(process_id)
    overridden = override_counts(process_id, [m.step for m in found if m.kind == "override"], period)
    results = []
    for m in found:
        if m.kind == "timer":
            met, missed, pending = timer_counts(process_id, m, period, now)
        else:
            by_rule = overridden.get(m.step, {})
            total, missed = sum(by_rule.values()), by_rule.get(m.timescale, 0)
            met, pending = total - missed, 0
        results.append(Compliance(m, met, missed, pending))
    return results


def timer_counts(process_id: str, measure: Measure, period: Period, now: datetime) -> tuple[int, int, int]:
    t = HumanTask
    # A fired non-interrupting timer can leave a later timer's instant as the row's due time (two timers on
    # one step), so the breach event, not only due_at, says whether the deadline was missed.
    breached = exists().where(
        Event.instance_id == t.instance_id, Event.type == "deadline_breached", Event.bpmn_id.in_(measure.timers),
        Event.at >= t.created_at, Event.at <= func.coalesce(t.completed_at, literal(now, UTCDateTime())))
    finished = t.state.in_(("completed", "cancelled"))
    met = (t.state == "completed") & (t.completed_at <= t.due_at) & ~breached
    missed = breached | (finished & (t.completed_at > t.due_at)) | ((t.state == "open") & (t.due_at < now))
    pending = (t.state == "open") & (t.due_at >= now) & ~breached
    row = db.session.execute(
        select(count_if(met), count_if(missed), count_if(pending))
        .where(t.process_id == process_id, t.bpmn_id == measure.step, t.due_at.is_not(None),
               period.holds_deadline(t.due_at))
    ).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def count_if(condition: ColumnElement) -> ColumnElement:
    return func.sum(case((condition, 1), else_=0))


def override_counts(process_id: str, steps: list[str], period: Period) -> dict[str, dict[str | None, int]]:
    """Step -> {overridden rule or None: completions in the period}."""
    if not steps:
        return {}
    rule = Event.detail[("override", "rule")].as_string()
    rows = db.session.execute(
        select(Event.bpmn_id, rule, func.count())
        .join(Instance, Instance.id == Event.instance_id)
        .where(Event.type == "task_completed", Instance.process_id == process_id, Event.bpmn_id.in_(steps),
               period.holds(Event.at))
        .group_by(Event.bpmn_id, rule)
    ).all()
    counts: dict[str, dict[str | None, int]] = {}
    for step, overridden, count in rows:
        counts.setdefault(step, {})[overridden] = count
    return counts


# ---- bounce-back ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BounceBack:
    """Step-downs completed in the period, and how many of their cases stepped back up within N months."""

    process_id: str
    step_downs: int
    stepped_up: dict[int, int]  # months -> step-downs followed by a step-up within that many months
    window_open: dict[int, int]  # months -> step-downs not (yet) followed whose window has not ended

    def percent(self, months: int) -> float | None:
        return round(100 * self.stepped_up[months] / self.step_downs, 1) if self.step_downs else None


def bounce_back(period: Period, now: datetime | None = None) -> list[BounceBack]:
    """One row per step-down process with completions in the period, then "all" over them."""
    now = now or utcnow()
    rows = step_downs_with_next_step_up(period)
    by_process: dict[str, list[tuple[datetime, datetime | None]]] = {}
    for process_id, done_at, step_up_at in rows:
        by_process.setdefault(process_id, []).append((done_at, step_up_at))
    result = [bounce_row(p, pairs, now) for p, pairs in sorted(by_process.items())]
    everything = [pair for pairs in by_process.values() for pair in pairs]
    return [*result, bounce_row("all", everything, now)]


def step_downs_with_next_step_up(period: Period) -> list[tuple[str, datetime, datetime | None]]:
    """(process, completed at, first step-up of the same family started after it) for each step-down.

    The same family: the same case reference, or a child in common by child id or by name and date of birth
    (engine.family), since a step up is usually recorded under another system's reference. A completed
    instance is not saved again, so its updated_at is the instant it completed.
    """
    down = (select(Instance.id, Instance.process_id, Instance.case_ref, Instance.updated_at)
            .where(Instance.process_id.in_(STEP_DOWN_PROCESSES), Instance.status == "completed",
                   Instance.outcome.startswith(STEPPED_DOWN_PREFIX, autoescape=True),
                   period.holds(Instance.updated_at))
            .cte("down"))
    up = Instance.__table__.alias("up")
    family = linked_pairs(down).subquery("family")
    first_up = (select(family.c.down_id, func.min(up.c.created_at).label("at"))
                .join(up, up.c.id == family.c.up_id)
                .where(up.c.process_id.startswith(STEP_UP_PREFIX, autoescape=True),
                       up.c.created_at > family.c.done_at)
                .group_by(family.c.down_id).subquery("first_up"))
    query = (select(down.c.process_id, down.c.updated_at, first_up.c.at)
             .select_from(down.outerjoin(first_up, first_up.c.down_id == down.c.id)))
    return [(p, done, first) for p, done, first in db.session.execute(query)]


def linked_pairs(down: CTE) -> CompoundSelect:
    """(down_id, done_at, up_id) for every instance sharing a case reference or a child with a step-down;
    each branch an index join, rather than one OR condition no index serves."""
    up = Instance.__table__.alias("same_ref")
    mine, theirs = InstanceChild.__table__.alias("mine"), InstanceChild.__table__.alias("theirs")
    by_ref = (select(down.c.id.label("down_id"), down.c.updated_at.label("done_at"), up.c.id.label("up_id"))
              .join(up, up.c.case_ref == down.c.case_ref))
    by_child = [select(down.c.id, down.c.updated_at, theirs.c.instance_id)
                .join(mine, mine.c.instance_id == down.c.id).join(theirs, same)
                for same in (theirs.c.child_id == mine.c.child_id, theirs.c.name_dob_key == mine.c.name_dob_key)]
    return union(by_ref, *by_child)


def bounce_row(process_id: str, pairs: list[tuple[datetime, datetime | None]], now: datetime) -> BounceBack:
    # Seen from `now`: a step-up started later has not happened yet (this matters only when looking back).
    pairs = [(done, up if up is not None and up <= now else None) for done, up in pairs]
    stepped_up, window_open = {}, {}
    for months in BOUNCE_MONTHS:
        ends = [(done, done.astimezone(LONDON) + relativedelta(months=months), up) for done, up in pairs]
        stepped_up[months] = sum(1 for _, end, up in ends if up is not None and up <= end)
        window_open[months] = sum(1 for _, end, up in ends if (up is None or up > end) and end > now)
    return BounceBack(process_id, len(pairs), stepped_up, window_open)


# ---- timer lateness ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Lateness:
    """How long after its due instant each timer fired, in seconds (nearest-rank percentiles)."""

    count: int
    p50: float | None
    p99: float | None
    max: float | None
    target_p99: float = LATENESS_TARGET_P99

    @property
    def meets_target(self) -> bool | None:
        return None if self.p99 is None else self.p99 <= self.target_p99


def timer_lateness(period: Period, process_id: str | None = None) -> Lateness:
    """Count, longest, p50 and p99 in one pass: each value's rank among the period's values, by a window
    function (SQLite and PostgreSQL both have them), keeping only the ranks the percentiles need."""
    seconds = Event.detail["lateness_seconds"].as_float()
    values = select(seconds.label("seconds")).where(Event.type == "timer_fired", period.holds(Event.at))
    if process_id:
        values = values.join(Instance, Instance.id == Event.instance_id).where(Instance.process_id == process_id)
    values = values.where(seconds.is_not(None)).subquery()
    ranked = select(values.c.seconds, func.row_number().over(order_by=values.c.seconds).label("rank"),
                    func.count().over().label("n")).subquery()
    wanted = [nearest_rank(ranked.c.n, p) for p in (50, 99)] + [ranked.c.n]
    rows = db.session.execute(select(ranked.c.rank, ranked.c.n, ranked.c.seconds)
                              .where(ranked.c.rank.in_(wanted))).all()
    if not rows:
        return Lateness(0, None, None, None)
    count = rows[0][1]
    at = {rank: float(value) for rank, _, value in rows}
    return Lateness(count, at[rank(count, 50) + 1], at[rank(count, 99) + 1], at[count])


def nearest_rank(n: ColumnElement, percentile: int) -> ColumnElement:
    """ceil(n * p / 100) in integer arithmetic, which both databases evaluate alike."""
    return (n * percentile + 99) // 100


def rank(count: int, percentile: int) -> int:
    """The nearest-rank position (0-based) of a percentile among `count` sorted values, in the same integer
    arithmetic as nearest_rank (a float product such as 0.29 * 100 is not exactly 29)."""
    return max((count * percentile + 99) // 100, 1) - 1
