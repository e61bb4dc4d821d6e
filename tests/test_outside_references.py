"""Nothing a diagram or a form names outside itself is read or fetched: files, URLs, other forms' paths,
XInclude, DTDs, template includes, and the script environment's way out."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from flask import g

from engine.definitions import DefinitionError, deploy, deploy_file
from engine.models import Definition, Instance, db
from tests.conftest import Api

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini.bpmn"
SECRET = "the-server-secret-4242"



@pytest.fixture
def api(app, people) -> Api:
    """The JSON API with only the mini process deployed (the suite's own api fixture deploys every process)."""
    @app.before_request
    def fresh_user() -> None:  # the fixture's one app context is shared by requests; a server's is not
        g.pop("_login_user", None)

    return Api(app.test_client(), people)

def mini_forms() -> dict:
    return {p.name: json.loads(p.read_text()) for p in (FIXTURES / "forms").glob("mini-*.json")}


def mutated(old: str, new: str) -> bytes:
    xml = MINI.read_text()
    assert old in xml
    return xml.replace(old, new).encode()


class Listener:
    """A local HTTP server that counts what it is asked for, so a test sees any fetch or port probe."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                body = json.dumps({"enum": [SECRET]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.json"
    path.write_text(json.dumps({"enum": [SECRET]}))
    return path


def refs(listener: Listener, secret_file: Path) -> dict[str, str]:
    return {"file": secret_file.as_uri(), "http": f"{listener.url}/schema.json", "relative": "secret.json",
            "anchor": "#answer"}


# ---- JSON Schema references in forms ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["file", "http", "relative", "anchor"])
def test_a_form_referring_outside_itself_is_refused_at_deploy(app, listener, secret_file, kind):
    forms = mini_forms()
    target = refs(listener, secret_file)[kind]
    forms["mini-a.json"]["properties"]["answer"] = {"$ref": target}
    with pytest.raises(DefinitionError) as refused:
        deploy(MINI.read_bytes(), forms, "ana")
    message = str(refused.value)
    assert "form mini-a.json: /properties/answer/$ref" in message and target in message
    assert listener.requests == [] and SECRET not in message
    assert db.session.query(Definition).count() == 0


def test_dynamic_refs_deep_in_a_form_are_refused_with_their_pointer(app, listener):
    forms = mini_forms()
    forms["mini-a.json"]["allOf"] = [{"if": {"$dynamicRef": f"{listener.url}/x"}, "then": {}}]
    with pytest.raises(DefinitionError, match=r"form mini-a.json: /allOf/0/if/\$dynamicRef"):
        deploy(MINI.read_bytes(), forms, "ana")
    assert listener.requests == []


def test_a_reference_inside_the_form_still_works(api, people):
    forms = mini_forms()
    forms["mini-a.json"]["$defs"] = {"answer": {"type": "string", "title": "Answer", "enum": ["yes", "no"]}}
    forms["mini-a.json"]["properties"]["answer"] = {"$ref": "#/$defs/answer"}
    deploy(MINI.read_bytes(), forms, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "R-1", "data": {"allocated_sw": "sw"}},
                       expect=201)
    task_id = started["current_steps"][0]["task_id"]
    refused = api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "maybe", "answered_on": "2024-12-01",
                                                                     "note": "n"}}, expect=400)
    assert "answer" in refused["fields"]
    api.post(f"/tasks/{task_id}/complete", "sw", {"data": {"answer": "yes", "answered_on": "2024-12-01", "note": "n"}})


@pytest.mark.parametrize("kind", ["file", "http"])
def test_a_form_stored_before_the_check_fetches_nothing_when_a_worker_submits(api, listener, secret_file, kind):
    """A version deployed before references were refused: validation retrieves nothing and says so."""
    deploy_file(MINI, "ana")
    db.session.commit()
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "R-2", "data": {"allocated_sw": "sw"}},
                       expect=201)
    definition = db.session.query(Definition).filter_by(process_id="mini").one()
    forms = dict(definition.forms)
    forms["mini-a.json"] = {**forms["mini-a.json"], "properties": {
        **forms["mini-a.json"]["properties"], "answer": {"$ref": refs(listener, secret_file)[kind]}}}
    definition.forms = forms
    db.session.commit()
    task_id = started["current_steps"][0]["task_id"]
    before = db.session.get(Instance, started["id"]).revision
    response = api.call("POST", f"/tasks/{task_id}/complete", "sw",
                        json={"data": {"answer": "nope", "answered_on": "2024-12-01"}}, expect=400)
    assert response["fields"] == {"_form": "This form refers to something outside itself and cannot be checked"}
    assert SECRET not in json.dumps(response) and listener.requests == []
    db.session.rollback()
    assert db.session.get(Instance, started["id"]).revision == before


# ---- names of forms -----------------------------------------------------------------------------------

def test_a_form_name_that_is_a_path_is_refused_without_reading_the_file(app, tmp_path, secret_file):
    processes = tmp_path / "processes"
    (processes / "forms").mkdir(parents=True)
    for path in (FIXTURES / "forms").glob("mini-*.json"):
        (processes / "forms" / path.name).write_text(path.read_text())
    diagram = processes / "mini.bpmn"
    diagram.write_bytes(mutated('value="mini-a.json"', 'value="../../secret.json"'))
    with pytest.raises(DefinitionError) as refused:
        deploy_file(diagram, "ana")
    assert "form '../../secret.json': a form is named by a plain file name ending in .json" in str(refused.value)
    assert SECRET not in str(refused.value)
    assert db.session.query(Definition).count() == 0


def test_an_uploaded_form_named_like_a_path_is_refused(app):
    forms = {**mini_forms(), "../mini-a.json": {"type": "object"}}
    with pytest.raises(DefinitionError, match="form '../mini-a.json': a form is named by a plain file name"):
        deploy(MINI.read_bytes(), forms, "ana")


# ---- XML: XInclude and DTDs -----------------------------------------------------------------------------

def test_a_diagram_with_xinclude_is_refused(app, secret_file):
    include = (f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret_file.as_uri()}" '
               'parse="text"/>')
    xml = mutated("<spiffworkflow:instructionsForEndUser>", f"{include}<spiffworkflow:instructionsForEndUser>")
    with pytest.raises(DefinitionError) as refused:
        deploy(xml, mini_forms(), "ana")
    assert "XInclude is not allowed in a diagram" in str(refused.value)
    assert SECRET not in str(refused.value)
    assert db.session.query(Definition).count() == 0


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE bpmn:definitions SYSTEM "{url}/diagram.dtd">',
    '<!DOCTYPE bpmn:definitions [<!ENTITY % remote SYSTEM "{url}/entities.dtd"> %remote;]>',
])
def test_a_diagram_naming_an_external_dtd_is_refused_without_fetching_it(app, listener, doctype):
    xml = MINI.read_bytes().replace(b"<bpmn:definitions ",
                                    doctype.format(url=listener.url).encode() + b"\n<bpmn:definitions ", 1)
    with pytest.raises(DefinitionError, match="DOCTYPE"):
        deploy(xml, mini_forms(), "ana")
    assert listener.requests == []


# ---- scripts, expressions and service-task parameters ---------------------------------------------------------

@pytest.mark.parametrize("old,new,named", [
    ('value="\'mosaic\'"', 'value="__import__(\'os\').system(\'id\')"', "system: "),
    ('value="\'mosaic\'"', 'value="due_date.__globals__[\'cal\']"', "system: "),
    ('value="\'mosaic\'"', "value=\"getattr(due_date, '__glob' + 'als__')\"", "system: "),
    ("a_due = due_date", "a_due = today.__module__\na_due = due_date", "init: "),
])
def test_a_script_or_parameter_reaching_outside_the_helpers_is_refused_at_deploy(app, old, new, named):
    with pytest.raises(DefinitionError) as refused:
        deploy(mutated(old, new), mini_forms(), "ana")
    assert str(refused.value).startswith(named)
    assert db.session.query(Definition).count() == 0


# ---- instructions for the end user ------------------------------------------------------------------------

HOSTILE_INSTRUCTIONS = ("{% include '/etc/passwd' %}{% import 'login.html' as x %}{% extends 'base.html' %}"
                        "{{ config.SECRET_KEY }}{{ ''.__class__.__mro__ }}<script>alert(1)</script>")


@pytest.fixture
def hostile_task(app, api, people):
    xml = mutated("Do it for {{ case_ref }}.", HOSTILE_INSTRUCTIONS.replace("<", "&lt;").replace(">", "&gt;"))
    deploy(xml, mini_forms(), "ana")
    db.session.commit()
    app.config["SECRET_KEY"] = SECRET
    started = api.post("/instances", "sw", {"process": "mini", "case_ref": "I-1", "data": {"allocated_sw": "sw"}},
                       expect=201)
    return started["current_steps"][0]["task_id"]


def test_instructions_are_text_in_the_api_never_a_template(api, hostile_task):
    shown = api.get(f"/tasks/{hostile_task}", "sw")["instructions"]
    assert shown == HOSTILE_INSTRUCTIONS


def test_instructions_are_shown_escaped_on_the_task_page(app, api, hostile_task):
    client = app.test_client()
    client.post("/login", data={"username": "sw", "password": "pw-sw"})
    page = client.get(f"/tasks/{hostile_task}").get_data(as_text=True)
    assert "{% include &#39;/etc/passwd&#39; %}" in page and "{{ config.SECRET_KEY }}" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert SECRET not in page and "root:" not in page
