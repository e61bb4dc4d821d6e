"""Bulk copies of a template case: every row of it, with fresh task ids and case reference throughout.

A human task's id is the SpiffWorkflow task id inside the blob, and history, notifications and service
calls name the same ids; so every UUID in the case's rows is replaced, consistently, by a new one. The
rows are split once at each UUID and at the case reference, and each copy is a join of the pieces.
"""
from __future__ import annotations

import json
import os
import re

from sqlalchemy import insert

from bench.cases import TABLES
from engine.models import db

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TEXT = (str, dict, list)
# Keys the database gives each copy.
GENERATED = {"instances": {"id"}, "events": {"id"}, "notifications": {"id"}}
INSTANCES = TABLES[0]

Pieces = tuple[list[str], list[int]]  # the literal text between tokens, and which token goes in each gap


class Pattern:
    """One template's rows split at every UUID and at its case reference."""

    def __init__(self, rows: dict[str, list[dict]], case_ref: str) -> None:
        self.case_ref = case_ref
        self.tokens: dict[str, int] = {}
        self.fixed = {table: [split(table, row, keep_text=False) for row in found] for table, found in rows.items()}
        text = {table: [split(table, row, keep_text=True) for row in found] for table, found in rows.items()}
        # The blob is most of the bytes: kept out of the JSON of the other columns, it is never re-parsed.
        self.blob = self.pieces(text["instances"][0].pop("serialized"))
        self.other = self.pieces(json.dumps(text))
        self.case_ref_slot = self.tokens.get(case_ref)

    def pieces(self, text: str) -> Pieces:
        parts = re.split(f"({UUID}|{re.escape(self.case_ref)})", text)
        return parts[0::2], [self.tokens.setdefault(token, len(self.tokens)) for token in parts[1::2]]

    def render(self, case_ref: str) -> dict[str, list[dict]]:
        values = fresh_uuids(len(self.tokens))
        if self.case_ref_slot is not None:
            values[self.case_ref_slot] = case_ref
        text = json.loads(join(self.other, values))
        text["instances"][0]["serialized"] = join(self.blob, values)
        return {table: [{**fixed, **changed} for fixed, changed in zip(self.fixed[table], text[table], strict=True)]
                for table in self.fixed}


def join(pieces: Pieces, values: list[str]) -> str:
    literals, slots = pieces
    out = [""] * (2 * len(literals) - 1)
    out[0::2] = literals
    out[1::2] = [values[slot] for slot in slots]
    return "".join(out)


def fresh_uuids(count: int) -> list[str]:
    # Random version-4 UUIDs, formatted directly: uuid.uuid4() per id was a sixth of the fill's time.
    digits = os.urandom(16 * count).hex()
    return [f"{d[:8]}-{d[8:12]}-4{d[13:16]}-a{d[17:20]}-{d[20:32]}"
            for d in (digits[32 * n:32 * n + 32] for n in range(count))]


def split(table: str, row: dict, keep_text: bool) -> dict:
    generated = GENERATED.get(table, set())
    return {key: value for key, value in row.items()
            if key not in generated and isinstance(value, TEXT) == keep_text}


def insert_copies(copies: list[dict[str, list[dict]]]) -> list[int]:
    """Insert the copies in one transaction; returns their instance ids in order."""
    ids = db.session.execute(
        insert(INSTANCES).returning(INSTANCES.c.id, sort_by_parameter_order=True),
        [rows["instances"][0] for rows in copies],
    ).scalars().all()
    for table in TABLES[1:]:
        rows = [{**row, "instance_id": instance_id}
                for instance_id, case in zip(ids, copies, strict=True) for row in case[table.name]]
        if rows:
            db.session.execute(insert(table), rows)
    db.session.commit()
    return list(ids)
