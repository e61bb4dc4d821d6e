"""What BPMN scripts and expressions can see, and the restricted environment that runs them.

Helpers take and return only ISO strings, numbers and bools, because the workflow serializer cannot
store `date` or `datetime` objects in task data. A date is "YYYY-MM-DD" (a local calendar day); an
instant is an ISO 8601 string with its offset, to the second, in local time (Europe/London).
"""
from __future__ import annotations

import ast
import copy
import operator
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any, Literal

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from engine import budget
from engine import calendar as cal
from engine.budget import SCRIPT_FILENAME, Budget, ScriptLimitError
from engine.settings import get_settings

# --------------------------------------------------------------------------- parsing and formatting


def _is_date_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 10 and "T" not in value


def _date(value: str) -> date:
    if not isinstance(value, str):
        raise TypeError(f"expected a date string YYYY-MM-DD, got {type(value).__name__}")
    if not _is_date_text(value):
        raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}")
    return date.fromisoformat(value)


def _instant(value: str) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO instant string, got {type(value).__name__}")
    if _is_date_text(value):
        raise ValueError(f"expected an instant with a time and an offset, got the date {value!r}")
    return cal.require_aware(datetime.fromisoformat(value))


def _day(value: str) -> date:
    """A date, or the local day of an instant."""
    return _date(value) if _is_date_text(value) else cal.to_local(_instant(value)).date()


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def _hours(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number of hours, got {value!r}")
    return value


def _iso(moment: datetime) -> str:
    return cal.to_local(moment).replace(microsecond=0).isoformat()


# --------------------------------------------------------------------------- script helpers


def now() -> str:
    return _iso(datetime.now(UTC))


def today() -> str:
    return cal.to_local(datetime.now(UTC)).date().isoformat()


def date_of(t: str) -> str:
    """The local calendar day of an instant (00:30 BST belongs to that day, not the day before)."""
    return _day(t).isoformat()


def add_days(d: str, n: int) -> str:
    return (_date(d) + timedelta(days=_count(n))).isoformat()


def add_months(d: str, n: int) -> str:
    return cal.add_months(_date(d), _count(n)).isoformat()


def days_between(d1: str, d2: str) -> int:
    return (_date(d2) - _date(d1)).days


def is_working_day(d: str) -> bool:
    return cal.is_working_day(_date(d))


def add_working_days(d: str, n: int) -> str:
    return cal.add_working_days(_date(d), _count(n)).isoformat()


def date_deadline(d: str) -> str:
    return _iso(cal.date_deadline(_date(d)))


def add_hours(t: str, n: float) -> str:
    return _iso(cal.add_elapsed_hours(_instant(t), _hours(n)))


def add_working_hours(t: str, n: float) -> str:
    return _iso(cal.add_working_hours(_instant(t), _hours(n)))


def _timescale(tid: str) -> dict[str, Any]:
    try:
        return get_settings()["timescales"][tid]
    except KeyError:
        raise ValueError(f"unknown timescale {tid!r}; it has no count in the timescales settings") from None


def due_date(tid: str, d: str) -> str:
    """The due date of a day-counted timescale from a date (or the local day of an instant)."""
    spec = _timescale(tid)
    return _count_from(tid, spec["unit"], spec["n"], _day(d))


def window_opens(tid: str, d: str) -> str:
    """The first day of a timescale's window (its `min_n`, in its unit): a meeting "within 1 (minimum) -
    2 (maximum) weeks" may be held from this day to due_date."""
    spec = _timescale(tid)
    if "min_n" not in spec:
        raise ValueError(f"timescale {tid} has no lower edge (min_n) in the timescales settings")
    return _count_from(tid, spec["unit"], spec["min_n"], _day(d))


def _count_from(tid: str, unit: str, n: int, start: date) -> str:
    if unit == "working_days":
        return cal.add_working_days(start, n).isoformat()
    if unit == "calendar_days":
        return (start + timedelta(days=n)).isoformat()
    if unit == "calendar_months":
        return cal.add_months(start, n).isoformat()
    raise ValueError(f"timescale {tid} counts {unit}, which has no due date; use breach_at")


def breach_at(tid: str, start: str) -> str:
    """The instant a timescale is breached: after the whole due date, or when its hours run out."""
    spec = _timescale(tid)
    if spec["unit"] == "working_hours":
        return _iso(cal.add_working_hours(_instant(start), spec["n"]))
    if spec["unit"] == "elapsed_hours":
        return _iso(cal.add_elapsed_hours(_instant(start), spec["n"]))
    return date_deadline(due_date(tid, start))


def setting(name: str) -> Any:
    """A number or word from the settings' top level (meeting_recording_grace_wd), so a diagram never
    holds a figure a council may change."""
    value = get_settings().get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise KeyError(f"{name!r} is not a number or word in the settings")
    return value


def long_date(d: str) -> str:
    """A date as a person reads it: "Thursday 4 June 2025"."""
    day = _day(d)
    return f"{day:%A} {day.day} {day:%B %Y}"


def long_time(t: str) -> str:
    """An instant as a person in England reads it: "Thursday 4 June 2025 at 10:00"."""
    local = cal.to_local(_instant(t))
    return f"{long_date(local.date().isoformat())} at {local:%H:%M}"


def on_or_before(a: str, b: str) -> bool:
    """Two dates compare as days; two instants compare as moments, whatever their offsets."""
    if _is_date_text(a) != _is_date_text(b):
        raise ValueError(f"on_or_before compares two dates or two instants, not {a!r} and {b!r}")
    if _is_date_text(a):
        return _date(a) <= _date(b)
    return _instant(a) <= _instant(b)


def next_meeting_date(meeting: str, d: str) -> str:
    return cal.next_meeting_date(meeting, _date(d)).isoformat()


def meeting_start_at(meeting: str, d: str) -> str:
    return _iso(cal.meeting_start_at(meeting, _date(d)))


def next_meeting_start_after(meeting: str, t: str) -> str:
    return _iso(cal.next_meeting_start_after(meeting, _instant(t)))


def age_on(dob: str, d: str) -> int:
    """Whole years; someone born on 29 February turns a year older on 1 March in other years."""
    born, on = _date(dob), _date(d)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def is_current(document: str | None, document_date: str | None, on_date: str | None) -> bool:
    """The 001 currency rule (T5): a C&F or EHA within 3 months, a CIN plan reviewed within 1 month.

    The look-back starts on the first day of the window, which counts. There is no upper bound: a
    document updated after the consultation (R04) is current for it.
    """
    if not (document and document_date and on_date):
        return False
    spec = _timescale("T5")
    months = {"cf_assessment": spec["n"], "eha": spec["n"], "cin_plan": spec["n_cin_plan"]}
    if document not in months:
        raise ValueError(f"unknown step-down document {document!r}; expected one of {sorted(months)}")
    return _date(document_date) >= cal.add_months(_date(on_date), -months[document])


SCRIPT_HELPERS: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        now, today, date_of, add_days, add_months, days_between, is_working_day, add_working_days,
        date_deadline, add_hours, add_working_hours, due_date, breach_at, on_or_before,
        next_meeting_date, meeting_start_at, next_meeting_start_after, age_on, is_current,
        window_opens, setting, long_date, long_time,
    )
}

# --------------------------------------------------------------------------- reserved names

# Copied, never shared: a module-level builtins dict that one script could reach would leak into all.
SAFE_BUILTINS: dict[str, Any] = {
    "None": None, "True": True, "False": False,
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "divmod": divmod,
    "enumerate": enumerate, "filter": filter, "float": float, "frozenset": frozenset, "int": int,
    "isinstance": isinstance, "len": len, "list": list, "map": map, "max": max, "min": min,
    "range": budget.safe_range, "reversed": reversed, "round": round, "set": set, "sorted": sorted,
    "str": str, "sum": budget.safe_sum, "tuple": tuple, "zip": zip,
    "Exception": Exception, "KeyError": KeyError, "TypeError": TypeError, "ValueError": ValueError,
}

# Names the specification lists, plus every builtin a script can see, since task data with one of
# these names would shadow it in every later script.
RESERVED_NAMES: frozenset[str] = frozenset(
    set(SCRIPT_HELPERS)
    | {"date", "datetime", "time", "timedelta", "timezone", "json", "typename", "data_objects"}
    | {"len", "min", "max", "sum", "any", "all", "sorted", "list", "dict", "str", "int", "bool",
       "type", "id", "input", "open", "print"}
    | set(SAFE_BUILTINS)
)


def is_reserved(name: str) -> bool:
    return name in RESERVED_NAMES or name.startswith(("_", "spiff__"))


# --------------------------------------------------------------------------- restricted compilation

# Refused at compile time so that the deploy lint reports them, instead of a NameError at run time.
FORBIDDEN_NAMES = frozenset({
    "open", "print", "getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars", "dir",
    "compile", "input", "breakpoint", "help", "type", "object", "super", "memoryview", "exit", "quit",
})


class ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy, plus no imports, no classes and no introspection builtins."""

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        self.error(node, "Imports are not allowed.")
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        return self.visit_Import(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "Class definitions are not allowed.")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST | None:
        if node.id in FORBIDDEN_NAMES and isinstance(node.ctx, ast.Load):
            self.error(node, f'"{node.id}" is not allowed in scripts.')
        return super().visit_Name(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        """Operators that can build a huge value in one step go through the size guard (engine/budget.py);
        one made of constants (`10**10**8`) is refused here, so the deploy lint reports it."""
        try:
            constant_value(node)
        except ScriptLimitError as exc:
            self.error(node, f"{exc}.")
        except NotConstant:
            pass
        node = self.node_contents_visit(node)
        symbol = GUARDED_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        name, op = ast.Name("_binop_", ast.Load()), ast.Constant(symbol)
        call = ast.Call(func=name, args=[op, node.left, node.right], keywords=[])
        for new in (call, name, op):
            ast.copy_location(new, node)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        spec = node.format_spec
        if spec is not None:
            parts = spec.values if isinstance(spec, ast.JoinedStr) else [spec]
            if not all(isinstance(p, ast.Constant) for p in parts):
                self.error(node, "A format width taken from a value is not allowed in scripts.")
            elif budget.is_wide_spec("".join(str(p.value) for p in parts)):
                self.error(node, "A format width over 9999 is not allowed in scripts.")
        return super().visit_FormattedValue(node)

    def visit_Try(self, node: ast.Try) -> ast.AST:
        # A script out of budget is stopped by an exception; `finally` or a bare `except` would run on.
        if node.finalbody:
            self.error(node, "try ... finally is not allowed in scripts.")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.type is None:
            self.error(node, "A bare except is not allowed in scripts; name the exception.")
        return super().visit_ExceptHandler(node)

    def visit_List(self, node: ast.List) -> ast.AST:
        self.refuse_unpacking(node)
        return super().visit_List(node)

    def visit_Tuple(self, node: ast.Tuple) -> ast.AST:
        self.refuse_unpacking(node)
        return super().visit_Tuple(node)

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.refuse_unpacking(node)
        return super().visit_Set(node)

    def refuse_unpacking(self, node: ast.List | ast.Tuple | ast.Set) -> None:
        """`[*xs, *xs]` doubles a list in one unchecked step; `+` is checked."""
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load) and any(
                isinstance(e, ast.Starred) for e in node.elts):
            self.error(node, "Unpacking with * into a list, tuple or set is not allowed in scripts; use +.")


GUARDED_OPERATORS: dict[type, str] = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Add: "+", ast.Mod: "%"}
CONSTANT_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Pow: operator.pow, ast.Mult: operator.mul, ast.LShift: operator.lshift, ast.Add: operator.add,
    ast.Mod: operator.mod, ast.Sub: operator.sub, ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv,
    ast.RShift: operator.rshift, ast.BitOr: operator.or_, ast.BitAnd: operator.and_, ast.BitXor: operator.xor,
}


class NotConstant(Exception):
    pass


def constant_value(node: ast.AST) -> Any:
    """The value of an expression made only of constants, each operator size-checked before it runs."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = constant_value(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in CONSTANT_OPERATORS:
        left, right = constant_value(node.left), constant_value(node.right)
        symbol = GUARDED_OPERATORS.get(type(node.op))
        if symbol:
            budget.check_binop(symbol, left, right)
        try:
            return CONSTANT_OPERATORS[type(node.op)](left, right)
        except (ArithmeticError, TypeError, ValueError):
            raise NotConstant from None
    raise NotConstant


class ScriptCompileError(SyntaxError):
    """A script or expression the restricted compiler refused.

    A SyntaxError with an int lineno, because SpiffWorkflow reads `lineno` from SyntaxErrors and
    compares it with 0 when it reports a failed script.
    """

    def __init__(self, errors: tuple[str, ...], source: str) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
        self.lineno = _error_line(errors, source)


def _error_line(errors: tuple[str, ...], source: str) -> int:
    match = re.match(r"Line (\d+):", errors[0]) if errors else None
    lineno = int(match.group(1)) if match else 0
    return lineno if 0 < lineno <= len(source.splitlines()) else 0


Mode = Literal["exec", "eval"]


@lru_cache(maxsize=2048)
def _compile(source: str, mode: Mode) -> tuple[CodeType | None, tuple[str, ...]]:
    if mode == "eval":
        # The built-in eval() ignores surrounding whitespace, and BPMN expressions often have some.
        result = compile_restricted_eval(source.strip(), filename=SCRIPT_FILENAME, policy=ScriptPolicy)
    else:
        result = compile_restricted_exec(source, filename=SCRIPT_FILENAME, policy=ScriptPolicy)
    return result.code, tuple(result.errors)


def compile_script(source: str, mode: Mode) -> CodeType:
    if not isinstance(source, str):
        raise ScriptCompileError((f"expected source text, got {type(source).__name__}",), "")
    code, errors = _compile(source, mode)
    if errors or code is None:
        raise ScriptCompileError(errors or ("the source could not be compiled",), source)
    return code


def check_source(code: str, mode: Mode) -> list[str]:
    """The compile errors of a script ("exec") or an expression ("eval"), without running it."""
    if mode not in ("exec", "eval"):
        raise ValueError(f"mode must be 'exec' or 'eval', not {mode!r}")
    if not isinstance(code, str):
        return [f"expected source text, got {type(code).__name__}"]
    return list(_compile(code, mode)[1])


# --------------------------------------------------------------------------- the environment

INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op not in INPLACE_OPERATORS:
        raise NotImplementedError(f"the operator {op} is not supported in scripts")
    budget.check_binop(op[:-1], target, value)
    return INPLACE_OPERATORS[op](target, value)


def _getattr(obj: Any, name: str, *default: Any) -> Any:
    budget.check_spent()
    guarded = budget.guarded_method(obj, name)
    return guarded if guarded is not None else safer_getattr(obj, name, *default)


def _getiter(obj: Any) -> Any:
    budget.check_spent()
    return default_guarded_getiter(obj)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


GUARDS: dict[str, Any] = {
    "_getattr_": _getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": _getiter,
    "_binop_": budget.guarded_binop,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
}


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment with RestrictedPython compilation, guards, whitelisted builtins and the helpers.

    evaluate/execute keep the parent's data flow exactly; only the compile step and the globals differ.
    """

    def __init__(self, environment_globals: dict[str, Any] | None = None) -> None:
        super().__init__({
            **SCRIPT_HELPERS,
            **(environment_globals or {}),
            **GUARDS,
            "__builtins__": SAFE_BUILTINS,
        })

    def _fresh_globals(self) -> dict[str, Any]:
        my_globals = copy.copy(self.globals)
        my_globals["__builtins__"] = dict(SAFE_BUILTINS)
        return my_globals

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict | None = None) -> Any:
        code = compile_script(expression, "eval")
        my_globals = self._fresh_globals()
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        with Budget():
            return eval(code, my_globals)

    def execute(self, script: str, context: dict[str, Any], external_context: dict | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        code = compile_script(script, "exec")
        my_globals = self._fresh_globals()
        self._prepare_context(context)
        my_globals.update(external_context or {})
        context.update(my_globals)
        try:
            with Budget():
                exec(code, context)  # noqa: S102 - compiled by RestrictedPython, run with guarded globals
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def check_for_overwrite(self, context: dict[str, Any], external_context: dict[str, Any]) -> None:
        """The parent's check, extended to the builtins, which live outside self.globals here."""
        super().check_for_overwrite(context, external_context)
        shadowed = set(SAFE_BUILTINS).intersection(context)
        if shadowed:
            raise ValueError(
                "You have task data that overwrites a predefined function(s). Please change the "
                f"following variable or field name(s) to something else: {shadowed}"
            )
