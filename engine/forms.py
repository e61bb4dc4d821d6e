"""Validating a submission against its task's JSON Schema and the form's Stepwise rules (x-rules)."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NoReturn

import re2
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError
from referencing import Registry
from referencing.exceptions import NoSuchResource, Unresolvable

from engine.budget import ScriptLimitError
from engine.errors import StepFailed
from engine.scripting import SCRIPT_HELPERS, RestrictedEnvironment

FORMATS = FormatChecker()
# What evaluating a form expression over incomplete data can raise.
RULE_ERRORS = (NameError, TypeError, KeyError, ValueError, AttributeError, IndexError, SyntaxError)
log = logging.getLogger(__name__)
_ENV = RestrictedEnvironment()


def evaluate(where: str, expression: str, namespace: dict) -> Any:
    """A form expression, stopped with the form element named if it runs past its budget."""
    try:
        return _ENV.evaluate(expression, dict(namespace))
    except ScriptLimitError as exc:
        raise StepFailed(f"This form's {where} was stopped: {exc}", {"_form": str(exc)}) from exc


def _retrieve_nothing(uri: str) -> NoReturn:
    raise NoSuchResource(ref=uri)


# A form may only refer into itself: jsonschema would otherwise fetch file:// and http:// references.
LOCAL_ONLY = Registry(retrieve=_retrieve_nothing)


# ---- patterns: matched in linear time (RE2), since `^(a|a)*$` takes Python's `re` minutes on 30 characters

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False


@lru_cache(maxsize=1024)
def linear_pattern(pattern: str) -> Any:
    """The RE2 form of a pattern; raises re2.error for one RE2 cannot run (a backreference, a lookaround)."""
    return re2.compile(pattern, RE2_OPTIONS)


def pattern_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return "a pattern must be text"
    try:
        linear_pattern(pattern)
    except re2.error as exc:
        return f"the pattern {pattern!r} cannot be matched in linear time ({exc})"
    return None


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    problem = pattern_problem(pattern)
    if problem:  # a version deployed before patterns were checked
        yield ValidationError(f"this field cannot be checked: {problem}")
    elif not linear_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


FormValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


@FORMATS.checks("date", raises=ValueError)
def is_date(value: object) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    date.fromisoformat(value)
    return True


@FORMATS.checks("time", raises=ValueError)
def is_time(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value) is not None


@FORMATS.checks("date-time", raises=ValueError)
def is_instant(value: object) -> bool:
    if not isinstance(value, str):
        return False
    return datetime.fromisoformat(value).tzinfo is not None


@dataclass
class FormResult:
    data: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)
    overrides: list[dict[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def property_at(schema: dict, path: list) -> dict:
    node = schema
    for part in path:
        node = (node.get("properties") or {}).get(part, {}) if isinstance(part, str) else node.get("items", {})
    return node


def error_field(error: ValidationError) -> list:
    path = list(error.absolute_path)
    if error.validator in ("required", "additionalProperties"):
        named = re.findall(r"'([^']+)'", error.message)
        path.append(named[0] if named else "")
    return path


def friendly(error: ValidationError, prop: dict, name: str) -> str:
    title = prop.get("title") or str(name).replace("_", " ").capitalize()
    lower = title[:1].lower() + title[1:]  # keeps capitals such as CIN and Families Plus
    choose = "enum" in prop or prop.get("type") == "boolean" or prop.get("x-user-role")
    if error.validator == "required":
        return f"{'Select' if choose else 'Enter'} {lower}"
    if error.validator == "format":
        return f"{title} must be a real {str(error.validator_value).replace('-', ' ')}"
    messages = {
        "enum": f"Select {lower}",
        "const": f"{title} must be confirmed",
        "type": f"{title} must be {error.validator_value}",
        "additionalProperties": f"{title} is not a field of this form",
        "minItems": f"Add at least {error.validator_value} to {lower}",
        "minLength": f"Enter {lower}",
        "maxLength": f"{title} is too long",
    }
    return messages.get(error.validator) or f"{title}: {error.message}"


def schema_errors(schema: dict, data: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    validator = FormValidator(schema, format_checker=FORMATS, registry=LOCAL_ONLY)
    try:
        found = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    except Unresolvable:  # a version deployed before references outside the form were refused
        return {"_form": "This form refers to something outside itself and cannot be checked"}
    for error in found:
        path = error_field(error)
        key = ".".join(str(p) for p in path) or "_form"
        errors.setdefault(key, friendly(error, property_at(schema, path), path[-1] if path else "this field"))
    return errors


def fill_app_fields(schema: dict, data: dict, username: str) -> None:
    """Values the server sets (who recorded a consent); the worker cannot supply them."""
    for name, prop in (schema.get("properties") or {}).items():
        if prop.get("x-set-by-app") == "current_user":
            data[name] = username
        elif prop.get("type") == "object" and isinstance(data.get(name), dict):
            fill_app_fields(prop, data[name], username)


def user_role_errors(schema: dict, data: dict, users_by_role: dict[str, set[str]]) -> dict[str, str]:
    errors = {}
    for name, prop in (schema.get("properties") or {}).items():
        role = prop.get("x-user-role")
        value = data.get(name)
        if role and value is not None and value not in users_by_role.get(role, set()):
            errors[name] = f"{prop.get('title', name)} must be a user with the role {role}"
    return errors


def computed(schema: dict, context: dict) -> dict[str, Any]:
    """Values the form derives from the case and today (x-computed), evaluated afresh each time the form is
    shown and again when it is submitted, so what a worker was shown is what the rules check."""
    values: dict[str, Any] = {}
    namespace = {k: v for k, v in context.items() if k not in SCRIPT_HELPERS}
    for name, expression in (schema.get("x-computed") or {}).items():
        try:
            values[name] = evaluate(f"computed value {name}", expression, namespace)
        except RULE_ERRORS:  # an input not yet known: the value is simply not shown
            values[name] = None
        namespace[name] = values[name]
    return values


def form_context(schema: dict, context: dict) -> dict[str, Any]:
    """What a form's defaults, shown values and rules see: the task's data with the computed values."""
    return {**context, **computed(schema, context)}


def shown(schema: dict, context: dict) -> dict[str, Any]:
    """The read-only case values a form shows above its fields (x-show)."""
    return {name: context.get(name) for name in schema.get("x-show", [])}


def rule_namespace(schema: dict, data: dict, context: dict) -> dict:
    namespace = {k: v for k, v in form_context(schema, context).items() if k not in SCRIPT_HELPERS}
    namespace.update({name: None for name in (schema.get("properties") or {})})
    namespace.update(data)
    return namespace


PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def interpolated(message: str, namespace: dict) -> str:
    """A rule's message with each {expression} replaced by its value, so a worker reads the date the rule
    enforces ("on or after {long_date(earliest_joint_visit_date)}")."""
    def value(match: re.Match) -> str:
        try:
            return str(evaluate("rule message", match.group(1), namespace))
        except RULE_ERRORS:
            return "(not known yet)"
    return PLACEHOLDER.sub(value, message)


def evaluate_rule(rule: dict, namespace: dict) -> bool:
    return bool(evaluate(f"rule on {rule.get('field', 'the form')}", rule["when"], namespace))


def apply_rules(schema: dict, data: dict, context: dict, result: FormResult) -> None:
    namespace = rule_namespace(schema, data, context)
    for rule in schema.get("x-rules", []):
        try:
            fired = evaluate_rule(rule, namespace)
        except RULE_ERRORS as exc:  # a rule that cannot be checked must not let the submission through
            result.errors.setdefault(rule.get("field", "_form"), f"{rule.get('message')} ({exc})")
            continue
        if fired:
            record_rule(rule, interpolated(rule.get("message", ""), namespace), data, result)


def record_rule(rule: dict, message: str, data: dict, result: FormResult) -> None:
    kind, field_name = rule.get("kind", "error"), rule.get("field", "_form")
    if kind == "warn":
        result.warnings.append({"code": rule["code"], "field": field_name, "message": message})
    elif kind == "override":
        reason = (data.get(rule["reason_field"]) or "").strip()
        if reason:
            result.overrides.append({"rule": rule["rule"], "reason": reason})
        else:  # on the value to change as well as on the reason that would keep it
            if "field" in rule:
                result.errors.setdefault(field_name, message)
            result.errors.setdefault(rule["reason_field"], message)
    else:
        result.errors.setdefault(field_name, message)


def validate(schema: dict, submitted: Any, context: dict, username: str,
             users_by_role: dict[str, set[str]]) -> FormResult:
    if not isinstance(submitted, dict):
        return FormResult({}, {"_form": "The submission must be a JSON object of field values"})
    data = dict(submitted)
    fill_app_fields(schema, data, username)
    result = FormResult(data, schema_errors(schema, data))
    result.errors.update(user_role_errors(schema, data, users_by_role))
    if result.ok:
        apply_rules(schema, data, context, result)
    return result


def derived_default(prop: dict, namespace: dict, name: str = "a field") -> Any:
    try:
        return evaluate(f"default of {name}", prop["x-default"], namespace)
    except RULE_ERRORS:  # a default is a convenience; a missing input must not break the form
        log.debug("no default for %s", prop.get("title"))
        return None


def defaults(schema: dict, context: dict) -> dict[str, Any]:
    """Prefill values. A value the process derives (x-default, a date such as the next meeting) is
    evaluated now, so a loop back never offers last round's; otherwise what a person typed earlier is kept;
    otherwise the schema's plain default. `context` is the form's context (form_context)."""
    values = {}
    namespace = {k: v for k, v in context.items() if k not in SCRIPT_HELPERS}
    for name, prop in (schema.get("properties") or {}).items():
        derived = derived_default(prop, namespace, name) if "x-default" in prop else None
        if derived is not None:
            values[name] = derived
        elif context.get(name) is not None:
            values[name] = context[name]
        elif "default" in prop:
            values[name] = prop["default"]
    return values
