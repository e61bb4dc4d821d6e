"""The worker's pages over HTTP: sign-in, CSRF, the worklist, a task form with errors, expired sessions and the
case page."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
import time_machine
from flask import g

from engine import runtime
from engine.access import Actor
from engine.definitions import deploy_file
from engine.models import HumanTask, Instance, InstanceChild, db

FIXTURES = Path(__file__).parent / "fixtures"
MINI = FIXTURES / "mini.bpmn"


@pytest.fixture
def site(app, people):
    app.config["WTF_CSRF_ENABLED"] = True
    deploy_file(MINI, "ana")
    db.session.commit()
    # The fixture keeps one app context open for database checks, so requests share its `g`; a real
    # server gives each request a fresh one. Forget the per-request user and CSRF token, as it would.
    @app.before_request
    def fresh_user() -> None:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)

    return app


def csrf(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def sign_in(client, username: str, password: str):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf(client, "/login")})


def started(client) -> Instance:
    token = csrf(client, "/instances/new?process=mini")
    response = client.post("/instances/new", data={"process": "mini", "case_ref": "W-1", "allocated_sw": "sw",
                                                   "csrf_token": token})
    assert response.status_code == 302
    db.session.rollback()
    return db.session.query(Instance).filter_by(case_ref="W-1").one()


def test_sign_in_failure_is_generic_and_rate_limited(site):
    client = site.test_client()
    wrong_user = sign_in(client, "nobody", "x")
    wrong_password = sign_in(client, "sw", "x")
    assert wrong_user.status_code == wrong_password.status_code == 401
    assert "The username or password is not right." in wrong_user.get_data(as_text=True)
    assert "The username or password is not right." in wrong_password.get_data(as_text=True)
    for _ in range(4):
        sign_in(client, "sw", "x")
    blocked = sign_in(client, "sw", "pw-sw")
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.get_data(as_text=True)


def test_pages_need_a_session(site):
    client = site.test_client()
    for path in ("/", "/notifications", "/instances/new"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_worker_claims_and_completes_through_the_form(site):
    client = site.test_client()
    assert sign_in(client, "sw", "pw-sw").status_code == 302
    instance = started(client)
    task = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    worklist = client.get("/").get_data(as_text=True)
    assert "W-1" in worklist and "Do the thing" in worklist and "Wed 22 Jan" not in worklist
    token = csrf(client, f"/tasks/{task.id}")
    assert client.post(f"/tasks/{task.id}/claim", data={"csrf_token": token}).status_code == 302
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="claimed-by">sw<' in page
    bad = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "answered_on": "2025-02-30"})
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "There is a problem" in body and "Select answer" in body and "must be a real date" in body
    warned = client.post(f"/tasks/{task.id}/complete",
                         data={"csrf_token": token, "answer": "yes", "answered_on": "2024-12-01"})
    assert warned.status_code == 200 and "A note is expected" in warned.get_data(as_text=True)
    done = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "answer": "yes",
                                                           "answered_on": "2024-12-01", "acknowledge_warnings": "1"})
    assert done.status_code == 302
    db.session.rollback()
    assert db.session.get(Instance, instance.id).status == "completed"
    case_page = client.get(f"/instances/{instance.id}").get_data(as_text=True)
    assert "completed: finished" in case_page and "note_missing" in case_page


def test_post_without_csrf_token_is_refused(site):
    client = site.test_client()
    sign_in(client, "sw", "pw-sw")
    instance = started(client)
    task = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    response = client.post(f"/tasks/{task.id}/claim")
    assert response.status_code == 400 and "Reload the page" in response.get_data(as_text=True)
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).claimed_by is None


def test_expired_session_loses_nothing(site):
    client = site.test_client()
    sign_in(client, "sw", "pw-sw")
    instance = started(client)
    task = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    token = csrf(client, f"/tasks/{task.id}")
    client.delete_cookie("session")
    response = client.post(f"/tasks/{task.id}/complete", data={"csrf_token": token, "answer": "yes",
                                                               "answered_on": "2024-12-01", "note": "n"})
    assert response.status_code in (302, 400)
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).state == "open"
    assert db.session.get(Instance, instance.id).status == "running"


def test_another_lanes_task_page_is_403(site):
    client = site.test_client()
    sign_in(client, "sw", "pw-sw")
    instance = started(client)
    task = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    other = site.test_client()
    sign_in(other, "fsw", "pw-fsw")
    assert other.get(f"/tasks/{task.id}").status_code == 403
    assert "W-1" not in other.get("/").get_data(as_text=True)


def test_manager_reassigns_a_task(site):
    client = site.test_client()
    sign_in(client, "sw", "pw-sw")
    instance = started(client)
    task = db.session.query(HumanTask).filter_by(instance_id=instance.id, state="open").one()
    manager = site.test_client()
    sign_in(manager, "sw_tm", "pw-sw_tm")
    token = csrf(manager, f"/tasks/{task.id}")
    assert manager.post(f"/tasks/{task.id}/reassign", data={"csrf_token": token, "to": "sw2"}).status_code == 302
    db.session.rollback()
    assert db.session.get(HumanTask, task.id).claimed_by == "sw2"


def test_the_case_page_lists_the_childrens_processes_under_other_references(site):
    """MOS-1 is Amy and Ben's case in Mosaic; Amy's later processes were raised in EHM. The case page of MOS-1
    lists them, each marked with how it is linked: her name typed differently with her date of birth, or her
    child id carried over. A namesake born a year later, under LCS-4, is another child and is not listed."""
    deploy_file(FIXTURES / "stepup_fixture.bpmn", "ana")
    db.session.commit()
    amy = {"name": "Amy Hall", "dob": "2014-02-03"}
    cog_mgr = Actor("cog_mgr", frozenset({"cog_mgr"}))

    def start(case_ref: str, day: int, children: list[dict], second: bool = False) -> Instance:
        with time_machine.travel(datetime(2025, 4, day, 9, tzinfo=UTC), tick=False):
            return runtime.start_instance("stepup_fixture", case_ref, {"children": children}, cog_mgr,
                                          confirm_duplicate=second)

    first = start("MOS-1", 1, [amy, {"name": "Ben Hall", "dob": "2016-07-08"}])
    start("EHM-2", 2, [{"name": "AMY  hall", "dob": "2014-02-03"}])
    start("EHM-3", 3, [{"id": child_id(first, 0), "name": "Amelia Hall", "dob": "2014-02-04"}])
    start("LCS-4", 4, [{"name": "Amy Hall", "dob": "2015-02-03"}])
    start("MOS-1", 5, [{"name": "Cara Hall", "dob": "2019-01-01"}], second=True)  # a second, intended
    client = site.test_client()
    sign_in(client, "manager", "pw-manager")
    page = client.get("/cases/MOS-1")
    assert page.status_code == 200
    assert table_rows(page.get_data(as_text=True)) == [
        ["1", "Step up (test fixture)", "MOS-1", "Case reference", "In progress"],
        ["2", "Step up (test fixture)", "EHM-2", "Child's name and date of birth", "In progress"],
        ["3", "Step up (test fixture)", "EHM-3", "Child id", "In progress"],
        ["4", "Step up (test fixture)", "MOS-1", "Case reference", "In progress"]]
    assert 'href="/cases/EHM-2"' in page.get_data(as_text=True)
    # One hop: from EHM-2, Amy's Mosaic case is found by her name; EHM-3 shares only the child id it carried
    # from MOS-1, which EHM-2 never had.
    assert table_rows(client.get("/cases/EHM-2").get_data(as_text=True)) == [
        ["1", "Step up (test fixture)", "MOS-1", "Child's name and date of birth", "In progress"],
        ["2", "Step up (test fixture)", "EHM-2", "Case reference", "In progress"]]
    outsider = site.test_client()
    sign_in(outsider, "fsw", "pw-fsw")
    assert "There is no case with this reference that you can see." in outsider.get("/cases/MOS-1").get_data(
        as_text=True)


def child_id(instance: Instance, n: int) -> str:
    rows = db.session.query(InstanceChild).filter_by(instance_id=instance.id).order_by(InstanceChild.id).all()
    return rows[n].child_id


def table_rows(html: str) -> list[list[str]]:
    """Each body row of the case table as its cells' text, without the dates (Started, Last change)."""
    body = re.search(r'id="case-instances".*?<tbody[^>]*>(.*?)</tbody>', html, re.DOTALL).group(1)
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL):
        cells = [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL)]
        rows.append([cells[0], cells[1], cells[2], cells[3], cells[5]])
    return rows


def text_of(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
