"""Deploy and Check in an analyst's words: every problem at once, each with its element's id and name, and a
diagram saved again with no change is not a new version."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import etree

from engine.definitions import DefinitionError, check, deploy
from engine.models import Definition, db

FIXTURES = Path(__file__).parent / "fixtures"
MINI = (FIXTURES / "mini.bpmn").read_bytes()
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def mini_forms() -> dict:
    return {p.name: json.loads(p.read_text()) for p in (FIXTURES / "forms").glob("mini-*.json")}


def first_user_task(root: etree._Element) -> etree._Element:
    return root.find(f".//{{{BPMN}}}userTask")


def problems(xml: bytes, forms: dict | None = None) -> list[str]:
    with pytest.raises(DefinitionError) as refused:
        check(xml, mini_forms() if forms is None else forms)
    return refused.value.problems


def test_two_elements_with_one_id_are_named_in_an_analysts_words(app):
    root = etree.fromstring(MINI)
    task = first_user_task(root)
    twin = etree.fromstring(etree.tostring(task))
    twin.set("name", "The copy")
    task.addnext(twin)
    found = problems(etree.tostring(root))
    wanted = (f"Two elements have the id {task.get('id')}: {task.get('id')} ('{task.get('name')}', a userTask) "
              f"and {task.get('id')} ('The copy', a userTask). Give each its own id.")
    assert wanted in found
    assert not any("Traceback" in p or "{http" in p or "xs:ID" in p for p in found)


def test_check_lists_every_problem_at_once(app):
    root = etree.fromstring(MINI)
    task = first_user_task(root)
    twin = etree.fromstring(etree.tostring(task))
    task.addnext(twin)
    script = root.find(f".//{{{BPMN}}}script")
    script.text = "import os\n" + (script.text or "")
    forms = {k: v for k, v in mini_forms().items() if k != "mini-start.json"}
    forms["mini-extra.json"] = {"type": "object", "properties": {"print": {"type": "string"}}}
    found = problems(etree.tostring(root), forms)
    assert any(p.startswith("Two elements have the id") for p in found)
    assert any(p.startswith(f"{script.getparent().get('id')}:") for p in found)  # RestrictedPython
    assert any("reserved name" in p for p in found)  # a form's field
    assert len(found) >= 3


def test_a_schema_error_names_the_element_without_namespaces(app):
    root = etree.fromstring(MINI)
    task = first_user_task(root)
    etree.SubElement(task, f"{{{BPMN}}}noSuchThing")
    found = problems(etree.tostring(root))
    assert any(p.startswith(f"{task.get('id')} ('{task.get('name')}', a userTask): ") and "bpmn:noSuchThing" in p
               for p in found), found
    assert not any("{http" in p for p in found)


def test_a_diagram_saved_again_with_no_change_is_not_a_new_version(app):
    first, created = deploy(MINI, mini_forms(), "ana")
    assert created
    root = etree.fromstring(MINI)
    for node in root.iter():  # re-indented, attributes in another order, a comment added
        if isinstance(node.tag, str):
            items = list(node.attrib.items())
            node.attrib.clear()
            for key, value in reversed(items):
                node.set(key, value)
    etree.indent(root, space="    ")
    root.insert(0, etree.Comment("saved by another modeller"))
    resaved = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert resaved != MINI
    again, created_again = deploy(resaved, mini_forms(), "ana")
    assert not created_again and again.id == first.id
    renamed = resaved.replace(b'name="Do the thing"', b'name="Do the thing now"')
    second, created_second = deploy(renamed, mini_forms(), "ana")
    db.session.commit()
    assert created_second and second.version == 2
    assert db.session.query(Definition).count() == 2
