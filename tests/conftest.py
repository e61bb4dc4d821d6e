"""Shared fixtures: an app on a fresh database (SQLite, or PostgreSQL when STEPWISE_TEST_DATABASE_URL is set),
users for every role with API tokens, and a small JSON API client."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from engine import settings
from engine.definitions import deploy_file, forget_parsed
from engine.models import db
from web import create_app
from web.cli import issue_token, upsert_user

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
POSTGRES_URL = os.environ.get("STEPWISE_TEST_DATABASE_URL")
ROLES = ["sw", "sw_tm", "fp_tm", "fp_pm", "fsw", "svc_mgr", "manager", "analyst",
         # the lanes of stepdown_response, stepup_cog and single_assessment
         "rtm", "ps_mgr", "sd_tray", "ehfw", "keyworker", "cog_mgr", "cog_bso", "cog_rep", "mash_mgr", "ssa",
         "spoc_mgr", "spoc_bso", "saat_tm", "eh_spoc", "cm_tm"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_URL:
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(pytest.mark.skip(reason="SQLite-only; the PostgreSQL pass runs the rest"))


def database_url(tmp_path: Path) -> str:
    return POSTGRES_URL or f"sqlite:///{tmp_path / 'test.db'}"


def reset_schema() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    db.create_all()


@pytest.fixture
def app(tmp_path: Path):
    settings.reset_settings()
    forget_parsed()
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(tmp_path), "TESTING": True, "SECRET_KEY": "test",
                      "WTF_CSRF_ENABLED": False})
    with app.app_context():
        reset_schema()
        yield app
        db.session.remove()
        db.engine.dispose()
    settings.reset_settings()


@dataclass
class Person:
    username: str
    token: str
    password: str


@pytest.fixture
def people(app) -> dict[str, Person]:
    """One user per role (username = role), plus a second social worker and a second FSW."""
    made = {}
    for username, roles in [*[(r, [r]) for r in ROLES], ("sw2", ["sw"]), ("fsw2", ["fsw"])]:
        user = upsert_user(username, roles, f"pw-{username}", display_name=username.upper())
        made[username] = Person(username, issue_token(user), f"pw-{username}")
    db.session.commit()
    return made


@pytest.fixture
def deployed(app) -> list[str]:
    names = []
    for path in sorted(PROCESSES.glob("*.bpmn")):
        definition, _ = deploy_file(path, deployed_by="test")
        names.append(definition.process_id)
    db.session.commit()
    return names


class Api:
    """The JSON API as a given person calls it."""

    def __init__(self, client, people: dict[str, Person]) -> None:
        self.client = client
        self.people = people

    def call(self, method: str, path: str, who: str, json: Any = None, expect: int | None = 200) -> Any:
        headers = {"Authorization": f"Bearer {self.people[who].token}"}
        response = self.client.open(f"/api/v1{path}", method=method, json=json, headers=headers)
        if expect is not None:
            assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def get(self, path: str, who: str, expect: int = 200) -> Any:
        return self.call("GET", path, who, expect=expect)

    def post(self, path: str, who: str, json: Any = None, expect: int = 200) -> Any:
        return self.call("POST", path, who, json=json if json is not None else {}, expect=expect)

    def tasks(self, who: str, **filters: Any) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        return self.get(f"/tasks?{query}", who)["tasks"]

    def task_at(self, instance_id: int, bpmn_id: str, who: str = "manager") -> dict:
        found = [t for t in self.tasks(who, instance=instance_id) if t["bpmn_id"] == bpmn_id]
        assert found, f"{bpmn_id} is not waiting; open: {[t['bpmn_id'] for t in self.tasks(who, instance=instance_id)]}"
        return found[0]

    def complete(self, instance_id: int, bpmn_id: str, who: str, data: dict, expect: int = 200) -> Any:
        task = self.task_at(instance_id, bpmn_id)
        return self.post(f"/tasks/{task['task_id']}/complete", who, {"data": data}, expect=expect)

    def instance(self, instance_id: int, who: str = "manager") -> dict:
        return self.get(f"/instances/{instance_id}", who)

    def open_steps(self, instance_id: int) -> list[str]:
        return sorted(s["bpmn_id"] for s in self.instance(instance_id)["current_steps"])


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, shared by a browser test module's tests."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_ARGS, chromium_path
    path = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def signed_in(app, people):
    """A test client signed in as the named person, through the sign-in form."""
    from flask import g

    @app.before_request
    def fresh_user() -> None:  # one app context spans the test; a server gives each request its own
        g.pop("_login_user", None)

    def client_for(username: str):
        client = app.test_client()
        client.post("/login", data={"username": username, "password": people[username].password})
        return client
    return client_for


@pytest.fixture
def api(app, people, deployed) -> Api:
    return Api(app.test_client(), people)


# ---- sequence-flow coverage of the process diagrams, gathered from every test's cases -------------------

def names_seen(config: pytest.Config) -> dict[str, set[str]]:
    """Process id -> the names seen in some case record in this run (the observability check)."""
    if not hasattr(config, "stepwise_names_seen"):
        config.stepwise_names_seen = {}
    return config.stepwise_names_seen


def flows_taken(config: pytest.Config) -> dict[str, set[str]]:
    """Process id -> flow ids taken so far in this run (kept on the config, which every module shares)."""
    if not hasattr(config, "stepwise_flows_taken"):
        config.stepwise_flows_taken = {}
    return config.stepwise_flows_taken


@pytest.fixture(autouse=True)
def record_flows(request):
    if "app" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("app")  # torn down after this fixture, so its database is still there
    yield
    from engine import serialization
    from engine.definitions import parsed_definition
    from engine.diagram import flow_ids
    from engine.models import Definition, Instance
    from engine.workflow import taken_pairs
    db.session.rollback()
    for instance in db.session.query(Instance).all():
        definition = db.session.get(Definition, instance.definition_id)
        workflow = serialization.loads(instance.serialized, parsed_definition(definition))
        taken = flow_ids(definition.bpmn_xml, taken_pairs(workflow))
        flows_taken(request.config).setdefault(definition.process_id, set()).update(taken)
        names_seen(request.config).setdefault(definition.process_id, set()).update(instance.case_data or {})
