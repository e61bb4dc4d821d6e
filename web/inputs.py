"""What a request may carry, checked once at the door: JSON bodies, HTML form fields, query arguments and
ids in the URL. A value the database or the workflow's serializer cannot hold (NaN, an integer past 64
bits, a NUL character, an unpaired surrogate, nesting without end) is a 400 naming its field before any
route runs, so nothing is stored and no case is left unreadable."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Flask, request
from werkzeug.datastructures import MultiDict

from engine.errors import Invalid, NotFound

MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
MAX_DEPTH = 32
MAX_ID = 2**31 - 1  # the Integer primary keys
# A JSON string (with the colon that makes it a key), or a bracket: enough to follow nesting unparsed.
TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[\[\]{}]')

Path = list[str | int]


def field_name(path: Path) -> str:
    """The dotted name of a field, printable even when a key holds a character it should not."""
    return ".".join(str(p).encode("utf-8", "backslashreplace").decode("utf-8") for p in path) or "body"


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain an unpaired surrogate (\\ud800-\\udfff)"
    return None


def value_problem(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number (not NaN or Infinity)"
    if isinstance(value, int) and not isinstance(value, bool) and not MIN_INT <= value <= MAX_INT:
        return "must be a whole number between -2^63 and 2^63-1"
    return text_problem(value) if isinstance(value, str) else None


def check_value(value: Any, path: Path, errors: dict[str, str]) -> None:
    """Every problem in a parsed JSON value, by field; nesting is already bounded by check_depth."""
    if isinstance(value, dict):
        for key, item in value.items():
            if problem := text_problem(key):
                errors.setdefault(field_name([*path, key]), f"The name of this field {problem}")
            check_value(item, [*path, key], errors)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_value(item, [*path, index], errors)
    elif problem := value_problem(value):
        errors.setdefault(field_name(path), problem)


def key_text(token: str) -> str:
    try:
        return str(json.loads(token[:-1].rstrip()))
    except ValueError:
        return "?"


def check_depth(text: str) -> None:
    """Refuse deep nesting before the parser recurses into it; the error names the field it starts under."""
    keys: list[str | None] = []
    for match in TOKENS.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            keys.append(None)
            if len(keys) > MAX_DEPTH:
                named = [k for k in keys if k is not None]
                raise Invalid("The body is nested too deeply",
                              {field_name(named[:3]): f"must not nest more than {MAX_DEPTH} levels deep"})
        elif token in ("]", "}"):
            if keys:
                keys.pop()
        elif token.endswith(":") and keys:
            keys[-1] = key_text(token)


def json_body() -> Any:
    """The request's JSON, refused with the field named if any value in it could not be stored."""
    try:
        text = request.get_data(cache=True).decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("The body is not valid JSON", {"body": "must be UTF-8 text"}) from None
    check_depth(text)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid("The body is not valid JSON") from None
    errors: dict[str, str] = {}
    check_value(data, [], errors)
    if errors:
        raise Invalid("The body holds values that cannot be stored", errors)
    return data


def int_arg(name: str, default: int | None, low: int = 1, high: int = MAX_INT,
            source: MultiDict | None = None) -> int | None:
    """A whole-number query argument (or form field) within [low, high]; absent or empty gives the default."""
    raw = (request.args if source is None else source).get(name, "").strip()
    if raw == "":
        return default
    if not re.fullmatch(r"-?\d{1,19}", raw) or not low <= int(raw) <= high:
        raise Invalid(f"The {name} is not a whole number from {low} to {high}",
                      {name: f"must be a whole number from {low} to {high}"})
    return int(raw)


def check_request() -> None:
    """Query arguments and HTML form fields: text the database could not store is refused here."""
    errors: dict[str, str] = {}
    for source in (request.args, request.form):
        for name, values in source.lists():
            for value in [name, *values]:
                if problem := text_problem(value):
                    errors.setdefault(field_name([name]), problem)
    if errors:
        raise Invalid("The request holds values that cannot be stored", errors)


def url_value_problem(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and not 0 <= value <= MAX_INT:
        return f"must be a whole number from 0 to {MAX_INT}"
    return text_problem(value) if isinstance(value, str) else None


def check_url_values(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Ids in the URL: the int converter takes any length of digits, the database does not. An id past the
    id columns' range (32-bit on PostgreSQL) names nothing that can exist: not found, without a query."""
    errors = {name: problem for name, value in (values or {}).items() if (problem := url_value_problem(value))}
    if errors:
        raise Invalid("The address holds a value that cannot be looked up", errors)
    if any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_ID for v in (values or {}).values()):
        raise NotFound("There is no such record")


def register(app: Flask) -> None:
    app.url_value_preprocessor(check_url_values)
    app.before_request(check_request)
