"""A family's instances across the case systems. Each process carries its own system's reference (Mosaic, ICS,
LCS, EHM), so a step up after a step down rarely shares the step down's case reference; the children do. An
instance is linked to a case by the case reference, by a child id carried from an earlier instance, or by a
child's name and date of birth.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import literal, select, union_all

from engine.models import Instance, InstanceChild, db

BY_CASE_REF = "case_ref"
BY_CHILD_ID = "child_id"
BY_NAME_DOB = "name_dob"
LINK_ORDER = (BY_CASE_REF, BY_CHILD_ID, BY_NAME_DOB)
MAX_CHILD_ID = 64
MAX_NAME = 200
APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
SEPARATORS = re.compile(r"[\W_]+")


# ---- the children of an instance ---------------------------------------------------------------------------

def child_key(name: Any, dob: Any) -> str | None:
    """The name and date-of-birth key two records of one child share though typed in different systems.

    The name: accents stripped (NFKD, combining marks dropped), casefolded, apostrophes dropped, every other run
    of punctuation, underscores or spaces made one space, trimmed, cut at 200 characters; then "|" and the
    ISO date of birth. "Zoë  O'Brien-Smith" and "zoe obrien smith" match; "Zoe Brien" does not. No key
    (None) without both a name and a valid date, so a child is never linked on a name alone.
    """
    if not is_iso_date(dob):
        return None
    words = name_key(name)
    return f"{words}|{dob}" if words else None


def name_key(name: Any) -> str | None:
    """The name part of child_key, on its own: what a search for a child's name is matched on."""
    if not isinstance(name, str):
        return None
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return SEPARATORS.sub(" ", APOSTROPHES.sub("", plain)).strip()[:MAX_NAME].strip() or None


def is_iso_date(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def children_of(data: Any) -> list[dict]:
    """The well-formed children of start data (a list of objects); anything else names no child."""
    children = data.get("children") if isinstance(data, dict) else None
    return [child for child in children if isinstance(child, dict)] if isinstance(children, list) else []


def child_errors(data: Any) -> dict[str, str]:
    """Field errors for children the instance_children table cannot hold (the start forms bound neither)."""
    errors = {}
    for n, child in enumerate(children_of(data)):
        given = child.get("id")
        if "id" in child and not (isinstance(given, str) and given.strip() and len(given) <= MAX_CHILD_ID):
            errors[f"children.{n}.id"] = f"A child id must be a non-blank text of at most {MAX_CHILD_ID} characters"
        if isinstance(child.get("name"), str) and len(child["name"]) > MAX_NAME:
            errors[f"children.{n}.name"] = f"A child's name must be at most {MAX_NAME} characters"
    return errors


def record_children(instance: Instance, data: dict) -> None:
    """One instance_children row per child of the start data (each has an id by now: with_child_ids)."""
    for child in children_of(data):
        if not isinstance(child.get("id"), str):
            continue
        name = child.get("name") if isinstance(child.get("name"), str) else ""
        dob = child.get("dob") if is_iso_date(child.get("dob")) else None
        db.session.add(InstanceChild(instance_id=instance.id, child_id=child["id"], name=name, dob=dob,
                                     name_dob_key=child_key(name, dob), name_key=name_key(name)))


# ---- linked instances --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Related:
    """An instance of the family and how it is linked: a subset of LINK_ORDER."""

    instance: Instance
    linked_by: tuple[str, ...]


def links(case_ref: str | None, child_ids: set[str], keys: set[str]) -> dict[int, set[str]]:
    """Instance id -> how it is linked: its case reference is case_ref, or it names one of these child ids
    or name+dob keys. One query; each branch reads one index."""
    branches = []
    if case_ref:
        branches.append(select(Instance.id.label("instance_id"), literal(BY_CASE_REF).label("how"))
                        .where(Instance.case_ref == case_ref))
    if child_ids:
        branches.append(select(InstanceChild.instance_id, literal(BY_CHILD_ID))
                        .where(InstanceChild.child_id.in_(sorted(child_ids))))
    if keys:
        branches.append(select(InstanceChild.instance_id, literal(BY_NAME_DOB))
                        .where(InstanceChild.name_dob_key.in_(sorted(keys))))
    if not branches:
        return {}
    found: dict[int, set[str]] = {}
    for instance_id, how in db.session.execute(union_all(*branches)):
        found.setdefault(instance_id, set()).add(how)
    return found


def start_links(case_ref: Any, data: Any) -> dict[int, set[str]]:
    """The instances a new instance's start data links to: the case reference, and its children's ids (when
    carried from an earlier instance) and name+dob keys."""
    children = children_of(data)
    ids = {c["id"] for c in children if isinstance(c.get("id"), str) and c["id"].strip()}
    keys = {key for c in children if (key := child_key(c.get("name"), c.get("dob")))}
    return links(case_ref if isinstance(case_ref, str) else None, ids, keys)


def related_instances(subject: Instance | str) -> list[Related]:
    """The instances linked to a case (a case reference, or an instance's own case): those with its case
    reference, and those naming a child that one of the case's instances names, by child id or by name+dob
    key. One hop only: an instance linked through a child of a linked instance under a third reference is not
    followed, so a sibling's later case does not pull in every case that sibling ever had. Oldest first; an
    instance given is in its own list (it shares its case reference). An instance with the case reference is
    marked by that alone: the child links are drawn from its own children, so they would say nothing more."""
    case_ref = subject.case_ref if isinstance(subject, Instance) else subject
    rows = db.session.execute(
        select(InstanceChild.child_id, InstanceChild.name_dob_key)
        .join(Instance, Instance.id == InstanceChild.instance_id).where(Instance.case_ref == case_ref)
    ).all()
    found = links(case_ref, {child_id for child_id, _ in rows}, {key for _, key in rows if key})
    return with_instances({i: {BY_CASE_REF} if BY_CASE_REF in how else how for i, how in found.items()})


def with_instances(found: dict[int, set[str]]) -> list[Related]:
    if not found:
        return []
    instances = db.session.execute(
        select(Instance).where(Instance.id.in_(sorted(found))).order_by(Instance.created_at, Instance.id)
    ).scalars()
    return [Related(i, tuple(how for how in LINK_ORDER if how in found[i.id])) for i in instances]


# ---- what finished instances tell a new one ----------------------------------------------------------------

def known_facts(case_ref: str, data: Any = None) -> dict:
    """The latest value of each case fact left by the finished instances of this case reference, or of the
    children of the start data (by child id or name+dob key)."""
    linked = start_links(case_ref, data)
    if not linked:
        return {}
    rows = db.session.execute(
        select(Instance.facts).where(Instance.id.in_(sorted(linked)), Instance.status == "completed")
        .order_by(Instance.updated_at, Instance.id)
    ).scalars()
    facts: dict = {}
    for row in rows:
        facts.update(row or {})
    return facts
