"""Roles as the deployed diagrams name them: who may start each process, and what each role is called.

Both are read from the diagrams, so a new lane or a new starting role needs a diagram change, not code: a
lane's `name` is its role id and its `bpmn:documentation` its title; the roles that may start a process are
the start event's `spiffworkflow:property name="starts"` (comma-separated role ids), or else the roles of the
lane the start event sits in."""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

from engine.access import Actor
from engine.models import Definition, db

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
# Roles that are in no lane: their titles are not in any diagram.
OTHER_ROLES = {"manager": "Manager (all cases)", "analyst": "Business analyst", "admin": "Administrator",
               "svc_mgr": "Service manager"}
# A lane's documentation may go on after its title with a source note, an aside or a qualifier in brackets:
# the title is what comes before them.
SOURCE_NOTE = re.compile(r"\s+·\s+")
BRACKETS = re.compile(r"\s*\([^)]*\)")
ASIDE = re.compile(r"[;,]\s")


@dataclass(frozen=True)
class Roles:
    """What one deployed version says about roles."""
    starts: frozenset[str]
    titles: dict[str, str]


_CACHE: dict[str, Roles] = {}


def roles_of(definition: Definition) -> Roles:
    cached = _CACHE.get(definition.sha256)
    if cached is None:
        cached = _CACHE[definition.sha256] = read_roles(definition.bpmn_xml.encode("utf-8"))
    return cached


def read_roles(xml: bytes) -> Roles:
    root = etree.fromstring(xml, SAFE_PARSER)
    process = root.find("bpmn:process[@isExecutable='true']", NS)
    if process is None:
        return Roles(frozenset(), {})
    lanes = process.findall(".//bpmn:lane", NS)
    titles = {lane.get("name"): lane_title(lane) for lane in lanes if lane.get("name")}
    return Roles(frozenset(start_roles(process, lanes)), titles)


def lane_title(lane: etree._Element) -> str:
    doc = (lane.findtext("bpmn:documentation", default="", namespaces=NS) or "").strip()
    title = ASIDE.split(BRACKETS.sub("", SOURCE_NOTE.split(doc, maxsplit=1)[0]), maxsplit=1)[0].strip()
    return title or lane.get("name")


def start_roles(process: etree._Element, lanes: list[etree._Element]) -> set[str]:
    """The roles named on the process's own start events, or the lanes those events sit in."""
    roles: set[str] = set()
    for start in process.findall("bpmn:startEvent", NS):
        named = start.xpath(".//*[local-name()='property'][@name='starts']/@value")
        if named:
            roles |= {role.strip() for value in named for role in value.split(",") if role.strip()}
            continue
        roles |= {lane.get("name") for lane in lanes
                  if start.get("id") in [ref.text for ref in lane.findall("bpmn:flowNodeRef", NS)]}
    return roles


def latest_definitions() -> list[Definition]:
    """The newest version of every deployed process, by process id."""
    newest = (db.select(Definition.process_id, db.func.max(Definition.version).label("version"))
              .group_by(Definition.process_id).subquery())
    query = (db.select(Definition).join(newest, (Definition.process_id == newest.c.process_id)
                                        & (Definition.version == newest.c.version))
             .order_by(Definition.process_id))
    return list(db.session.execute(query).scalars())


def may_start(actor: Actor, definition: Definition) -> bool:
    return bool(actor.roles & roles_of(definition).starts)


def startable(actor: Actor) -> list[Definition]:
    return [d for d in latest_definitions() if may_start(actor, d)]


def role_titles() -> dict[str, str]:
    """Every role's title: the lanes' (the shortest where diagrams describe a role each in their own way),
    and the roles that are in no lane."""
    found: dict[str, list[str]] = {}
    for definition in latest_definitions():
        for role, title in roles_of(definition).titles.items():
            found.setdefault(role, []).append(title)
    titles = dict(OTHER_ROLES)
    titles.update({role: min(names, key=len) for role, names in found.items()})
    return titles


def forget_roles() -> None:
    _CACHE.clear()
