"""The budget every diagram script, condition and form expression runs under.

A script is analyst-written code run inside a web or timer worker, so it must not be able to hold that
worker: its Python lines are counted and timed (a `sys.settrace` hook on the script's own frames), the
process's resident memory is watched while it runs, and the operations that build a large value in one
C call (`**`, `*`, `<<`, `+` on sequences, `range`, `str.join`, padding) are checked for the size of
their result before they run. The limits are settings (`scripts` in engine/settings.py).
"""
from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, Self

from engine.settings import get_settings

# The file name scripts are compiled under, so the tracer follows their frames; SpiffWorkflow finds a
# failing script's line by this same name.
SCRIPT_FILENAME = "<string>"
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# How many traced lines pass between two memory readings (a reading is a small /proc read).
MEMORY_EVERY = 16


class ScriptLimitError(Exception):
    """A script ran out of its budget; the message says which limit."""


class _Exhausted(BaseException):
    """Raised inside the script: a BaseException, so that `except Exception` in a script cannot swallow
    it. Turned into a ScriptLimitError as it leaves the script."""


@dataclass(frozen=True)
class Limits:
    seconds: float
    lines: int
    memory_mb: int
    size: int
    int_bits: int

    @classmethod
    def current(cls) -> Limits:
        s = get_settings().get("scripts") or {}
        return cls(float(s.get("max_seconds", 2.0)), int(s.get("max_lines", 500_000)),
                   int(s.get("max_memory_mb", 256)), int(s.get("max_size", 1_000_000)),
                   int(s.get("max_int_bits", 65_536)))


def _open_statm() -> int | None:
    try:
        return os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:  # not Linux: the other limits still hold
        return None


_STATM = _open_statm()


def resident_bytes() -> int:
    if _STATM is None:
        return 0
    try:
        return int(os.pread(_STATM, 128, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


class Budget:
    """Counts and times a script's lines while it runs; use as a context manager around exec/eval."""

    active: Budget | None = None

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits.current()
        self.lines = 0
        self.spent: str | None = None

    def __enter__(self) -> Self:
        self.previous_budget, Budget.active = Budget.active, self
        self.previous_trace = sys.gettrace()
        self.deadline = time.monotonic() + self.limits.seconds
        self.memory_ceiling = resident_bytes() + self.limits.memory_mb * 1024 * 1024
        sys.settrace(self._call)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        sys.settrace(self.previous_trace)
        Budget.active = self.previous_budget
        if isinstance(exc, _Exhausted):
            raise ScriptLimitError(str(exc)) from None

    def _call(self, frame: FrameType, event: str, arg: Any) -> Callable | None:
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None  # helpers and the engine run untraced, at full speed
        # Per instruction: a one-line loop (`while True: pass`) raises no line events.
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        self._tick()
        return self._line

    def _line(self, frame: FrameType, event: str, arg: Any) -> Callable:
        self._tick()
        return self._line

    def _tick(self) -> None:
        self.lines += 1
        if self.spent is None:
            self.spent = self._overrun()
        if self.spent is not None:
            raise _Exhausted(self.spent)

    def _overrun(self) -> str | None:
        if self.lines > self.limits.lines:
            return f"it ran more than {self.limits.lines:,} steps (a loop that does not end?)"
        if time.monotonic() > self.deadline:
            return f"it ran for more than {self.limits.seconds:g} seconds (a loop that does not end?)"
        if self.lines % MEMORY_EVERY == 0 and resident_bytes() > self.memory_ceiling:
            return f"it used more than {self.limits.memory_mb} MB of memory"
        return None


def refuse(reason: str) -> None:
    """Refuse an operation in a running script, or (outside one, at deploy) raise a plain limit error."""
    budget = Budget.active
    if budget is not None:
        budget.spent = budget.spent or reason
        raise _Exhausted(reason)
    raise ScriptLimitError(reason)


def limits() -> Limits:
    return Budget.active.limits if Budget.active is not None else Limits.current()


def check_spent() -> None:
    """Called from the guards: once a script has run out, every guarded operation refuses again, so a
    script cannot carry on in code the tracer no longer sees."""
    budget = Budget.active
    if budget is not None and budget.spent is not None:
        raise _Exhausted(budget.spent)


# --------------------------------------------------------------------------- sizes, checked before

SEQUENCES = (str, bytes, list, tuple)


def _too_big(size: int, what: str) -> None:
    cap = limits().size
    if size > cap:
        refuse(f"{what} would have {size:,} items; a script may build at most {cap:,}")


def _check_int_bits(bits: int, what: str) -> None:
    cap = limits().int_bits
    if bits > cap:
        refuse(f"{what} would be a number of about {bits:,} bits; a script may use at most {cap:,}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse `**`, `*`, `<<` and `+` whose result would be too large, before computing it."""
    check_spent()
    if op == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
        _check_int_bits(right * abs(left).bit_length(), f"{left} ** {right}")
    elif op == "*":
        _check_product(left, right)
    elif op == "<<" and _is_int(left) and _is_int(right) and left:
        _check_int_bits(left.bit_length() + right, f"{left} << {right}")
    elif op == "+" and isinstance(left, SEQUENCES) and isinstance(right, SEQUENCES):
        _too_big(len(left) + len(right), "joining these two")
    elif op == "%" and isinstance(left, str):
        check_format_text(left)


def _check_product(left: Any, right: Any) -> None:
    if isinstance(left, SEQUENCES) and _is_int(right):
        _too_big(len(left) * max(right, 0), "repeating this")
    elif isinstance(right, SEQUENCES) and _is_int(left):
        _too_big(len(right) * max(left, 0), "repeating this")
    elif _is_int(left) and _is_int(right):
        _check_int_bits(left.bit_length() + right.bit_length(), "this product")


BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "**": lambda a, b: a ** b, "*": lambda a, b: a * b, "<<": lambda a, b: a << b,
    "+": lambda a, b: a + b, "%": lambda a, b: a % b,
}


def guarded_binop(op: str, left: Any, right: Any) -> Any:
    check_binop(op, left, right)
    return BINOPS[op](left, right)


# A width or precision of five digits or more, or one taken from an argument (`*`).
WIDE_FORMAT = re.compile(r"%[-#0 +]*(\*|\d{5,}|\d*\.(\*|\d{5,}))")
WIDE_SPEC = re.compile(r"\d{5,}")


def check_format_text(text: str) -> None:
    if WIDE_FORMAT.search(text):
        refuse("a %-format width or precision over 9999 is not allowed in scripts")


def is_wide_spec(spec: str) -> bool:
    return WIDE_SPEC.search(spec) is not None


def safe_range(*args: int) -> range:
    check_spent()
    result = range(*args)
    _too_big(len(result), "this range")
    return result


def safe_sum(values: Iterable, start: Any = 0) -> Any:
    if not isinstance(start, int | float):
        refuse("sum() adds numbers only; join lists or text with + instead")
    return sum(values, start)


# --------------------------------------------------------------------------- methods that build large values


def _join(separator: str | bytes) -> Callable[[Iterable], Any]:
    def join(parts: Iterable) -> Any:
        items = list(parts)
        _too_big(sum(len(p) for p in items if isinstance(p, SEQUENCES)) + len(separator) * len(items), "this text")
        return separator.join(items)
    return join


def _replace(text: str | bytes) -> Callable[..., Any]:
    def replace(old: Any, new: Any, count: int = -1) -> Any:
        times = len(text) + 1 if count < 0 else count
        _too_big(len(text) + times * max(len(new) - len(old), 0), "this text")
        return text.replace(old, new, count)
    return replace


def _padding(text: str | bytes, name: str) -> Callable[..., Any]:
    method = getattr(text, name)

    def pad(width: int, *args: Any) -> Any:
        _too_big(width if _is_int(width) else 0, "this text")
        return method(width, *args)
    return pad


def _growing(target: list | set, name: str) -> Callable[[Iterable], None]:
    method = getattr(target, name)

    def grow(items: Iterable) -> None:
        items = list(items)
        _too_big(len(target) + len(items), "this collection")
        method(items)
    return grow


# Text methods a script may not call: their width comes from a value (`'{x:>99999999}'.format_map`).
# RestrictedPython refuses str.format itself.
BLOCKED_TEXT_METHODS = frozenset({"format_map", "expandtabs"})
PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def guarded_method(obj: Any, name: str) -> Callable | None:
    """The checked stand-in for a method that could build a value too large in one call, else None."""
    if isinstance(obj, str | bytes):
        if name in BLOCKED_TEXT_METHODS:
            refuse(f"'{name}' is not allowed in scripts; build text with f-strings or +")
        if name == "join":
            return _join(obj)
        if name == "replace":
            return _replace(obj)
        if name in PADDING:
            return _padding(obj, name)
    if isinstance(obj, list) and name == "extend" or isinstance(obj, set) and name == "update":
        return _growing(obj, name)
    return None
