"""Turning a task's JSON Schema into GOV.UK form fields, and a posted HTML form back into typed JSON."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from web.inputs import value_problem

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
    integer: bool = False


def set_by_app(prop: dict) -> bool:
    """Fields the server fills (who recorded a consent): never on the form, never taken from it."""
    return bool(prop.get("x-set-by-app"))


def kind_of(prop: dict) -> str:
    """How a field is drawn. A read-only field (a prefilled row's child) is shown and sent back unchanged."""
    return "readonly" if prop.get("readOnly") and prop.get("type") not in ("object", "array") else value_kind(prop)


def value_kind(prop: dict) -> str:
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
          prefix: str = "", min_rows: int = ARRAY_ROWS) -> list[Field]:
    """The form's fields; a list shows its rows and empty ones up to `min_rows`."""
    fields = []
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        if set_by_app(prop):
            continue
        path = f"{prefix}{name}"
        value = (values or {}).get(name)
        item = Field(path, prop.get("title") or name.replace("_", " ").capitalize(), kind_of(prop),
                     prop.get("description", ""), options(prop, users), value, errors.get(path),
                     required=name in required, integer=prop.get("type") == "integer")
        if item.kind == "object":
            item.children = build(prop, value if isinstance(value, dict) else {}, errors, users, f"{path}.",
                                  min_rows)
        elif item.kind == "array":
            rows = value if isinstance(value, list) else []
            row_label = prop.get("items", {}).get("title") or item.label
            item.children = [Field(f"{path}.{i}", f"{row_label} {i + 1}", "object",
                                   children=build(prop.get("items", {}), rows[i] if i < len(rows) else {},
                                                  errors, users, f"{path}.{i}.", min_rows))
                             for i in range(max(min_rows, len(rows)))]
        fields.append(item)
    return fields


def parse(schema: dict, form: MultiDict, prefix: str = "", in_row: bool = False) -> dict[str, Any]:
    """Only what the worker filled in: an empty box is an absent field, so 'required' catches it. A required
    sub-form left wholly empty is kept as {}, so each of its missing fields is named, not just the sub-form
    (not inside a list's rows, where an empty row must stay empty to be dropped)."""
    data: dict[str, Any] = {}
    required = set(schema.get("required") or [])
    for name, prop in (schema.get("properties") or {}).items():
        if set_by_app(prop):
            continue
        value = parse_value(prop, form, f"{prefix}{name}", in_row)
        if value is None and name in required and kind_of(prop) == "object" and not in_row:
            value = {}
        if value is not None:
            data[name] = value
    return data


def parse_value(prop: dict, form: MultiDict, path: str, in_row: bool = False) -> Any:
    kind = value_kind(prop)
    if kind == "object":
        return parse(prop, form, f"{path}.", in_row) or None
    if kind == "array":
        rows = [parse(prop.get("items", {}), form, f"{path}.{i}.", True) for i in range(form_rows(form, path))]
        return [row for row in rows if row] or None
    raw = date_from_parts(form, path) if kind == "date" and path not in form else (form.get(path) or "").strip()
    if raw == "":
        return None
    return convert(prop, kind, raw)


def date_from_parts(form: MultiDict, path: str) -> str:
    """The three boxes of a GOV.UK date input as an ISO date. Anything that is not a whole day, month and
    four-digit year is passed on as typed, so the schema's date format reports it against the field."""
    day, month, year = ((form.get(f"{path}-{part}") or "").strip() for part in ("day", "month", "year"))
    if not (day or month or year):
        return ""
    if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


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
            number = int(raw) if prop.get("type") == "integer" else float(raw)
        except ValueError:
            return raw
        # "nan", "inf" and integers past 64 bits cannot be stored: the schema reports them as not numbers.
        return number if value_problem(number) is None else raw
    if kind == "datetime-local" and len(raw) == 16:
        return with_london_offset(raw)
    return raw


def with_london_offset(local: str) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo("Europe/London")).isoformat()


# ---- GOV.UK Frontend components ------------------------------------------------------------------------

def first_input_id(f: Field) -> str:
    """Where an error summary link for this field lands: its first box, as GOV.UK asks."""
    return f"{f.name}-day" if f.kind == "date" else f.name


def error_links(fields: list[Field], errors: dict[str, str]) -> list[dict[str, str]]:
    """The error summary's list, in the order of the form; errors with no field of their own come last."""
    links, placed = [], set()
    for f in walk(fields):
        if f.name in errors:
            links.append({"text": errors[f.name], "href": f"#{first_input_id(f)}"})
            placed.add(f.name)
    return links + [{"text": text} for name, text in errors.items() if name not in placed]


def walk(fields: list[Field]) -> list[Field]:
    found = []
    for f in fields:
        found.append(f)
        found += walk(f.children)
    return found


def label_text(f: Field) -> str:
    return f.label if f.required else f"{f.label} (optional)"


def label(f: Field) -> dict[str, str]:
    # Bold, like the legends of the radio and date questions beside them.
    return {"text": label_text(f), "classes": "govuk-label--s"}


def common(f: Field) -> dict[str, Any]:
    return {"id": f.name, "name": f.name, "hint": {"text": f.hint} if f.hint else None,
            "errorMessage": {"text": f.error} if f.error else None}


def component(f: Field) -> tuple[str, dict[str, Any]]:
    """The govuk-frontend-jinja macro that draws a single field, and its parameters."""
    if f.kind in ("radios", "boolean"):
        return "radios", radios(f)
    if f.kind == "date":
        return "date", date_input(f)
    if f.kind == "user":
        return "select", select(f)
    if f.kind == "textarea":
        return "textarea", {**common(f), "label": label(f), "rows": 4,
                            "value": "" if f.value is None else str(f.value)}
    return "input", text_input(f)


def radios(f: Field) -> dict[str, Any]:
    choices = f.options if f.kind == "radios" else [("true", "Yes"), ("false", "No")]
    chosen = None if f.value is None else (str(f.value).lower() if f.kind == "boolean" else str(f.value))
    inline = " govuk-radios--inline" if f.kind == "boolean" else ""
    return {**common(f), "idPrefix": f.name, "classes": f"govuk-radios--small{inline}",
            "fieldset": {"legend": {"text": label_text(f), "classes": "govuk-fieldset__legend--s"}},
            "items": [{"value": value, "text": text, "checked": value == chosen} for value, text in choices]}


def date_parts(value: Any) -> tuple[str, str, str]:
    match = re.fullmatch(r"([^-]*)-([^-]*)-([^-]*)", str(value or ""))
    if not match:
        return "", "", ""
    year, month, day = match.groups()
    return day, month, year


def date_input(f: Field) -> dict[str, Any]:
    day, month, year = date_parts(f.value)
    error = " govuk-input--error" if f.error else ""
    hint = f"{f.hint} For example, 27 3 2025." if f.hint else "For example, 27 3 2025."
    return {**common(f), "namePrefix": f.name, "hint": {"text": hint},
            "fieldset": {"legend": {"text": label_text(f), "classes": "govuk-fieldset__legend--s"}},
            "items": [{"name": "day", "value": day, "classes": f"govuk-input--width-2{error}"},
                      {"name": "month", "value": month, "classes": f"govuk-input--width-2{error}"},
                      {"name": "year", "value": year, "classes": f"govuk-input--width-4{error}"}]}


def select(f: Field) -> dict[str, Any]:
    items = [{"value": "", "text": "Choose a person"}]
    items += [{"value": value, "text": f"{text} ({value})", "selected": f.value == value} for value, text in f.options]
    return {**common(f), "label": label(f), "items": items}


def text_input(f: Field) -> dict[str, Any]:
    params = {**common(f), "label": label(f), "value": "" if f.value is None else str(f.value)}
    if f.kind == "number":
        params.update(inputmode="numeric" if f.integer else "decimal", spellcheck=False,
                      classes="govuk-input--width-10")
    elif f.kind == "time":
        hint = f"{f.hint} For example, 14:30." if f.hint else "For example, 14:30."
        params.update(hint={"text": hint}, classes="govuk-input--width-5", spellcheck=False, autocomplete="off")
    elif f.kind == "datetime-local":
        params.update(type="datetime-local", value=str(f.value or "")[:16], classes="govuk-input--width-20")
    return params
