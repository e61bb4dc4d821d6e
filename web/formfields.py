"""Turning a task's JSON Schema into HTML fields, and a posted HTML form back into typed JSON."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

ARRAY_ROWS = 4


@dataclass
class Field:
    name: str
    label: str
    kind: str
    hint: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    children: list[Field] = field(default_factory=list)
    required: bool = False


def kind_of(prop: dict) -> str:
    if "enum" in prop:
        return "radios"
    if prop.get("x-user-role"):
        return "user"
    kinds = {"boolean": "boolean", "integer": "number", "number": "number", "object": "object", "array": "array"}
    if prop.get("type") in kinds:
        return kinds[prop["type"]]
    formats = {"date": "date", "time": "time", "date-time": "datetime-local"}
    if prop.get("format") in formats:
        return formats[prop["format"]]
    return "textarea" if prop.get("x-widget") == "textarea" else "text"


def options(prop: dict, users: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
    labels = prop.get("x-labels") or {}
    if "enum" in prop:
        return [(str(v), labels.get(str(v), str(v).replace("_", " ").capitalize())) for v in prop["enum"]
                if v is not None]
    if prop.get("x-user-role"):
        return users.get(prop["x-user-role"], [])
    return []


def build(schema: dict, values: dict, errors: dict[str, str], users: dict[str, list[tuple[str, str]]],
          prefix: str = "") -> list[Field]:
    fields = []
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("x-set-by-app"):
            continue
        path = f"{prefix}{name}"
        value = (values or {}).get(name)
        item = Field(path, prop.get("title") or name.replace("_", " ").capitalize(), kind_of(prop),
                     prop.get("description", ""), options(prop, users), value, errors.get(path),
                     required=name in required)
        if item.kind == "object":
            item.children = build(prop, value if isinstance(value, dict) else {}, errors, users, f"{path}.")
        elif item.kind == "array":
            rows = value if isinstance(value, list) else []
            item.children = [Field(f"{path}.{i}", f"{item.label} {i + 1}", "object",
                                   children=build(prop.get("items", {}), rows[i] if i < len(rows) else {},
                                                  errors, users, f"{path}.{i}."))
                             for i in range(max(ARRAY_ROWS, len(rows)))]
        fields.append(item)
    return fields


def parse(schema: dict, form: MultiDict, prefix: str = "") -> dict[str, Any]:
    """Only what the worker filled in: an empty box is an absent field, so 'required' catches it."""
    data: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("x-set-by-app"):
            continue
        value = parse_value(prop, form, f"{prefix}{name}")
        if value is not None:
            data[name] = value
    return data


def parse_value(prop: dict, form: MultiDict, path: str) -> Any:
    kind = kind_of(prop)
    if kind == "object":
        return parse(prop, form, f"{path}.") or None
    if kind == "array":
        rows = [parse(prop.get("items", {}), form, f"{path}.{i}.") for i in range(form_rows(form, path))]
        return [row for row in rows if row] or None
    raw = (form.get(path) or "").strip()
    if raw == "":
        return None
    return convert(prop, kind, raw)


def form_rows(form: MultiDict, path: str) -> int:
    indexes = {int(key[len(path) + 1:].split(".")[0]) for key in form
               if key.startswith(f"{path}.") and key[len(path) + 1:].split(".")[0].isdigit()}
    return max(indexes) + 1 if indexes else 0


def convert(prop: dict, kind: str, raw: str) -> Any:
    """A value that does not convert is passed on as text, so the schema reports it against its field."""
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "number":
        try:
            return int(raw) if prop.get("type") == "integer" else float(raw)
        except ValueError:
            return raw
    if kind == "datetime-local" and len(raw) == 16:
        return with_london_offset(raw)
    return raw


def with_london_offset(local: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/London")).isoformat()
