"""Read-only figures for managers, from the worklist and history tables (never from workflow blobs)."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.models import HumanTask, db


def waiting_by_step(process_id: str) -> dict[str, int]:
    """How many cases wait at each step of a process now: the heatmap's numbers."""
    rows = db.session.execute(
        select(HumanTask.bpmn_id, func.count()).where(HumanTask.process_id == process_id,
                                                      HumanTask.state == "open").group_by(HumanTask.bpmn_id)
    ).all()
    return {bpmn_id: count for bpmn_id, count in rows}
