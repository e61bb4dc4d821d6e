"""The migrations build exactly the schema the models describe, so `stepwise db upgrade` is the real schema."""
from __future__ import annotations

from importlib import import_module

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import MetaData, Table, text

from engine.models import db


def empty_database() -> None:
    """No tables and no migration history, as on a new server."""
    with db.engine.begin() as conn:
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def test_upgrade_from_empty_matches_the_models(app):
    empty_database()
    upgrade()
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert differences == []


def test_upgrade_links_the_children_of_instances_started_before_it(app):
    """Instances started before instance_children existed get their children from their start events."""
    from datetime import UTC, datetime

    from engine.models import InstanceChild

    empty_database()
    upgrade(revision="069098824126")
    when = datetime(2025, 4, 1, tzinfo=UTC)
    # Rows are written as the tables stood at that revision, not through today's models.
    tables = {name: Table(name, MetaData(), autoload_with=db.engine) for name in ("definitions", "instances", "events")}
    with db.engine.begin() as conn:
        definition_id = conn.execute(tables["definitions"].insert().values(
            process_id="p", version=1, sha256="0" * 64, name="P", bpmn_xml="<x/>", forms={},
            deployed_at=when)).inserted_primary_key[0]
        instance_id = conn.execute(tables["instances"].insert().values(
            definition_id=definition_id, process_id="p", case_ref="MOS-1", status="cancelled", serialized="",
            revision=1, flags={}, facts={}, participants=[], created_at=when, updated_at=when)).inserted_primary_key[0]
        children = [{"id": "c1", "name": "Zoë O'Brien", "dob": "2015-06-01"}, {"id": "c2", "name": "Kim"}]
        conn.execute(tables["events"].insert().values(instance_id=instance_id, at=when, type="instance_started",
                                                      detail={"data": {"case_ref": "MOS-1", "children": children}}))
    upgrade(revision="b05b52df9c4e")
    # The columns of that revision only: later ones (name_key) are not there yet.
    rows = db.session.query(InstanceChild.instance_id, InstanceChild.child_id, InstanceChild.name,
                            InstanceChild.dob, InstanceChild.name_dob_key).order_by(InstanceChild.child_id).all()
    assert [tuple(r) for r in rows] == [
        (instance_id, "c1", "Zoë O'Brien", "2015-06-01", "zoe obrien|2015-06-01"),
        (instance_id, "c2", "Kim", None, None)]
    db.session.rollback()  # end the read, or PostgreSQL's ALTER TABLE below waits for it forever
    with db.engine.begin() as conn:  # a hand-made blob that neither the flow coverage nor a later migration reads
        for name in ("instance_children", "events", "instances"):
            conn.execute(text(f"DELETE FROM {name}"))
    upgrade()


def test_upgrade_rebuilds_the_case_record_of_instances_saved_before_it(app, people, deployed, api):
    """Instances saved before the case record existed get it rebuilt from their task tree."""
    from tests.test_stepdown_locality import START

    started = api.post("/instances", "sw_tm", {"process": "stepdown_locality", "case_ref": "MOS-77",
                                                "data": START}, expect=201)
    api.complete(started["id"], "L01", "sw_tm", {"identification_route": "ad_hoc_discussion_with_fp",
                                                   "yps_involvement_to_consider": True})
    before = api.instance(started["id"])["data"]
    migration = import_module("migrations.versions.5b1f0c2a7e31_case_record_on_instances")
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE instances SET case_data = '{}'"))
        migration.backfill(conn)
    db.session.remove()
    assert api.instance(started["id"])["data"] == before
    assert before["case_ref"] == "MOS-77" and before["identification_route"] == "ad_hoc_discussion_with_fp"
