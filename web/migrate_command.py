"""`stepwise migrate PROCESS --to VERSION [--dry-run] [--case REF]`: move running cases to another version."""
from __future__ import annotations

import sys

import click

from engine import migration
from engine.calendar import local_iso
from engine.errors import StepwiseError
from engine.models import db


def describe(plan: migration.MovePlan) -> list[str]:
    lines = [f"{plan.case_ref} (v{plan.from_version} -> v{plan.to_version}): "
             + ("can move" if plan.can_move else "cannot move: " + "; ".join(plan.reasons))]
    if plan.waiting:
        lines.append("  waiting at: " + "; ".join(plan.waiting))
    if plan.changed:
        lines.append("  changed: " + "; ".join(plan.changed))
    if plan.dropped:
        lines.append("  dropped: " + "; ".join(plan.dropped))
    lines += [f"  due {d.name}: {local_iso(d.after)}" + ("" if d.after == d.before else f" (was {local_iso(d.before)})")
              for d in plan.due]
    return lines


@click.command("migrate")
@click.argument("process_id")
@click.option("--to", "version", required=True, type=int, help="The version to move the running cases to.")
@click.option("--dry-run", is_flag=True, help="Say what would happen to each case; change nothing.")
@click.option("--case", "case_ref", help="Only the case with this reference.")
@click.option("--by", "actor", default="cli", help="Who the case history records as moving the cases.")
def migrate(process_id: str, version: int, dry_run: bool, case_ref: str | None, actor: str) -> None:
    """Move running cases of a process to another version (the ones that can move)."""
    try:
        plans = migration.dry_run_all(process_id, version, case_ref)
    except StepwiseError as exc:
        raise click.ClickException(exc.message) from exc
    if not plans:
        click.echo("no running case to move")
    failed = False
    for plan in plans:
        for line in describe(plan):
            click.echo(line)
        if dry_run or not plan.can_move:
            failed = failed or not plan.can_move
            continue
        try:
            migration.move_case(plan.instance_id, version, actor, expected_revision=plan.revision)
            click.echo(f"  moved to version {version}")
        except StepwiseError as exc:
            db.session.rollback()
            failed = True
            click.echo(f"  not moved: {exc.message}", err=True)
    sys.exit(1 if failed else 0)
