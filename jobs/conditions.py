"""Run conditions (product spec §7): a small JSON language deciding whether an action runs.

Pure: standard library only. Conditions are data; nothing in them is ever executed.

The language — every condition is an object with exactly one operator key:

* ``{"status": "success" | "failure" | "any"}`` — the run so far: ``success`` while no step has
  failed, ``failure`` once one has, ``any`` always.
* ``{"dataset": "<alias>", "op": "==" | "!=" | ">" | ">=" | "<" | "<=", "value": <number>}`` — the
  record count of an associated dataset. An alias with no count at evaluation time is false (so
  ``not`` of it is true).
* ``{"param": "<name>", "equals": <JSON value>}`` — the run parameter equals the value; a missing
  parameter is false, even against ``null``.
  ``{"param": "<name>", "in": [<JSON value>, ...]}`` — it equals one of the values (an empty list is
  false). ``{"param": "<name>", "exists": true | false}`` — it is (or is not) among the run's
  parameters; a parameter set to ``null`` exists.
  Equality is JSON equality: ``1 == 1.0``, but ``true != 1``, ``"1" != 1``, and lists and objects
  compare member by member under the same rule.
* ``{"all": [...]}`` (an empty list is true), ``{"any": [...]}`` (an empty list is false),
  ``{"not": {...}}``.

`validate_condition` also refuses a condition that can never be true, whatever the run: an action under
it would never run. Only what is provable from the condition alone counts: an empty ``any``, an ``in``
with no values, a ``not`` of something always true (``{"status": "any"}``, an empty ``all``), an ``all``
that needs the run to have failed and not to have failed, and what ``all``/``any``/``not`` make of those.
Params and dataset counts are unknown until the run and each of their tests is taken as either true or
false (not even a record count is assumed to be non-negative). `evaluate` and `explain` still accept
such a condition (one stored before this rule, say): it is simply false.

An absent condition (``None`` or ``{}`` at the top) always holds; an empty object nested inside a
combinator is an error. Work is bounded: at most ``MAX_DEPTH`` levels of nested condition objects and
``MAX_NODES`` condition objects in all; a value to compare with is plain finite JSON of at most
``MAX_VALUE_ITEMS`` items and ``MAX_VALUE_DEPTH`` levels.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_VALUE_DEPTH",
    "MAX_VALUE_ITEMS",
    "ConditionError",
    "RunState",
    "evaluate",
    "explain",
    "validate_condition",
]

MAX_DEPTH = 20  # condition objects from the root to the deepest leaf, both included
MAX_NODES = 200  # condition objects in the whole tree
# A value to compare a param with is bounded too, so comparing it costs little.
MAX_VALUE_DEPTH = 20
MAX_VALUE_ITEMS = 1000
# Explanations land in a progress entry; a wide tree must not turn into a page of text.
MAX_EXPLANATION_LENGTH = 500
MAX_SHOWN_VALUE_LENGTH = 60
MAX_SHOWN_CHOICES = 5

OPERATORS = ("status", "dataset", "param", "all", "any", "not")
STATUSES = ("success", "failure", "any")
PARAM_TESTS = ("equals", "exists", "in")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
# Keys each operator accepts besides its own.
EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "status": (),
    "dataset": ("op", "value"),
    "param": PARAM_TESTS,
    "all": (),
    "any": (),
    "not": (),
}
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ConditionError(ValueError):
    """A run condition that cannot be accepted; `path` points to the offending part."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)  # both in args, so the error survives pickling
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class RunState:
    """What a condition can see: whether the run has failed so far, its params and dataset counts."""

    failed: bool
    params: Mapping[str, Any] = field(default_factory=dict)
    dataset_counts: Mapping[str, int] = field(default_factory=dict)


def validate_condition(
    condition: Any, *, path: str = "runCondition", dataset_aliases: Collection[str] | None = None
) -> None:
    """Raise ConditionError if `condition` is not a valid run condition or can never be true; None and {} are valid."""
    if _is_absent(condition):
        return
    _Validator(dataset_aliases).check(condition, path, depth=1)
    never = _never_true(condition, path)
    if never is not None:
        never_path, reason = never
        raise ConditionError(never_path, f"{reason}, so the condition can never be true and the action would never run")


def _check_structure(condition: Any) -> None:
    """Raise ConditionError if `condition` is malformed; one that can never be true passes."""
    if not _is_absent(condition):
        _Validator(None).check(condition, "runCondition", depth=1)


def evaluate(condition: Any, state: RunState) -> bool:
    """Whether `condition` holds for `state`; ConditionError if the condition is invalid."""
    _check_structure(condition)
    if _is_absent(condition):
        return True
    return _holds(condition, state)


def explain(condition: Any, state: RunState) -> str:
    """A short sentence saying why `condition` is true or false for `state`, naming the deciding part."""
    _check_structure(condition)
    if _is_absent(condition):
        return "no run condition, so the action always runs"
    return _truncate(_explain(condition, state), MAX_EXPLANATION_LENGTH)


# --- validation -------------------------------------------------------------------------------------


def _is_absent(condition: Any) -> bool:
    """Whether `condition` is the absent condition: None or an empty object."""
    return condition is None or (isinstance(condition, dict) and not condition)


class _Validator:
    """One pass over a condition tree, counting nodes so a huge tree fails fast."""

    def __init__(self, dataset_aliases: Collection[str] | None) -> None:
        self.dataset_aliases = dataset_aliases
        self.nodes = 0

    def check(self, node: Any, path: str, *, depth: int) -> None:
        """Validate one condition object and, through the combinators, everything under it."""
        # Limits first, so a pathological tree is refused before any more of it is read.
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ConditionError(path, f"too many conditions (at most {MAX_NODES} in all)")
        if depth > MAX_DEPTH:
            raise ConditionError(path, f"nested too deeply (at most {MAX_DEPTH} levels)")
        if not isinstance(node, dict):
            raise ConditionError(path, f"must be an object, not {_json_type(node)}")
        name = _operator_of(node, path)
        for key in node:
            if key != name and key not in EXTRA_KEYS[name]:
                raise ConditionError(_key_path(path, key), f"unknown key in a '{name}' condition")
        if name == "status":
            self._check_status(node, path)
        elif name == "dataset":
            self._check_dataset(node, path)
        elif name == "param":
            self._check_param(node, path)
        elif name == "not":
            self.check(node["not"], f"{path}.not", depth=depth + 1)
        else:
            parts = node[name]
            if not isinstance(parts, list):
                raise ConditionError(f"{path}.{name}", f"must be a list of conditions, not {_json_type(parts)}")
            for index, part in enumerate(parts):
                self.check(part, f"{path}.{name}[{index}]", depth=depth + 1)

    def _check_status(self, node: dict[str, Any], path: str) -> None:
        """A status condition names one of the known states."""
        status = node["status"]
        if not isinstance(status, str) or status not in STATUSES:
            raise ConditionError(f"{path}.status", f"invalid status {_show(status)}; expected {_choices(STATUSES)}")

    def _check_dataset(self, node: dict[str, Any], path: str) -> None:
        """A dataset condition names a known alias and compares its count with a number."""
        alias = node["dataset"]
        if not isinstance(alias, str) or not alias.strip():
            raise ConditionError(f"{path}.dataset", "must be a non-empty dataset alias")
        if self.dataset_aliases is not None and alias not in self.dataset_aliases:
            known = _choices(sorted(self.dataset_aliases)) if self.dataset_aliases else "none"
            raise ConditionError(
                f"{path}.dataset", f"unknown dataset alias {_show(alias)}; the job's dataset aliases: {known}"
            )
        if "op" not in node:
            raise ConditionError(f"{path}.op", f"is required; expected {_choices(COMPARISONS)}")
        op = node["op"]
        if not isinstance(op, str) or op not in COMPARISONS:
            raise ConditionError(f"{path}.op", f"unknown comparison {_show(op)}; expected {_choices(COMPARISONS)}")
        if "value" not in node:
            raise ConditionError(f"{path}.value", "is required: the record count to compare with")
        if not _is_number(node["value"]):
            raise ConditionError(f"{path}.value", f"must be a number, not {_json_type(node['value'])}")

    def _check_param(self, node: dict[str, Any], path: str) -> None:
        """A param condition names a parameter and exactly one test of it."""
        name = node["param"]
        if not isinstance(name, str) or not name.strip():
            raise ConditionError(f"{path}.param", "must be a non-empty parameter name")
        tests = [key for key in PARAM_TESTS if key in node]
        if not tests:
            raise ConditionError(path, f"a 'param' condition needs one of {_choices(PARAM_TESTS)}")
        if len(tests) > 1:
            raise ConditionError(path, f"a 'param' condition takes only one of {_choices(tests)}")
        if "exists" in node and not isinstance(node["exists"], bool):
            raise ConditionError(f"{path}.exists", f"must be true or false, not {_json_type(node['exists'])}")
        if "in" in node and not isinstance(node["in"], list):
            raise ConditionError(f"{path}.in", f"must be a list of values, not {_json_type(node['in'])}")
        for test in ("equals", "in"):
            if test in node:
                _check_json_value(node[test], f"{path}.{test}")


def _check_json_value(value: Any, path: str) -> None:
    """A value compared with a param is plain, finite, bounded JSON; iterative, so depth is no risk."""
    pending = [(value, path, 0)]
    items = 0
    while pending:
        item, item_path, depth = pending.pop()
        items += 1
        if items > MAX_VALUE_ITEMS:
            raise ConditionError(path, f"value too large (at most {MAX_VALUE_ITEMS} items)")
        if depth > MAX_VALUE_DEPTH:
            raise ConditionError(item_path, f"value nested too deeply (at most {MAX_VALUE_DEPTH} levels)")
        if isinstance(item, list):
            # Reversed onto the stack, so the first offending item is the one reported.
            pending.extend(
                (child, f"{item_path}[{index}]", depth + 1) for index, child in reversed(list(enumerate(item)))
            )
        elif isinstance(item, dict):
            for key in item:
                if not isinstance(key, str):
                    raise ConditionError(item_path, f"object keys must be strings, not {_json_type(key)}")
            pending.extend((item[key], _key_path(item_path, key), depth + 1) for key in reversed(list(item)))
        elif isinstance(item, float) and not math.isfinite(item):
            raise ConditionError(item_path, "must be a finite number")
        elif item is not None and not isinstance(item, bool | int | float | str):
            raise ConditionError(item_path, f"must be a JSON value, not {_json_type(item)}")


def _operator_of(node: dict[Any, Any], path: str) -> str:
    """The one operator key of a condition object; ConditionError if there are none or several."""
    found = [key for key in node if key in OPERATORS]
    if len(found) == 1:
        return found[0]
    if not found:
        keys = ", ".join(_show(key) for key in list(node)[:MAX_SHOWN_CHOICES])
        what = f"no operator (keys: {keys})" if node else "empty condition"
        raise ConditionError(path, f"{what}; expected exactly one of {_choices(OPERATORS)}")
    raise ConditionError(
        path, f"several operators ({_choices(found)}); use exactly one, and combine conditions with 'all' or 'any'"
    )


def _key_path(path: str, key: Any) -> str:
    """The path of a key inside an object: `.key` when it reads as a name, `["key"]` otherwise."""
    if isinstance(key, str) and IDENTIFIER.fullmatch(key):
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key) if isinstance(key, str) else repr(key)}]"


def _is_number(value: Any) -> bool:
    """A finite JSON number; bools are not numbers, and NaN or infinity compare with nothing sensibly."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _json_type(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- conditions that can never be true -----------------------------------------------------------------


def _value(node: dict[str, Any], failed: bool | None) -> bool | None:
    """A validated condition's value when the run has ``failed`` (None: unknown) and nothing else is known.

    None means it depends on what is not known: the run's state (when ``failed`` is None), its params or
    its dataset counts.
    """
    if "status" in node:
        if node["status"] == "any":
            return True
        return None if failed is None else failed == (node["status"] == "failure")
    if "param" in node:
        # An empty `in` list matches no value; every other param test depends on the run's params.
        return False if "in" in node and not node["in"] else None
    if "not" in node:
        inner = _value(node["not"], failed)
        return None if inner is None else not inner
    if "all" in node:
        values = [_value(part, failed) for part in node["all"]]
        if False in values:
            return False
        return True if all(value is True for value in values) else None
    if "any" in node:
        values = [_value(part, failed) for part in node["any"]]
        if True in values:
            return True
        return False if all(value is False for value in values) else None
    return None  # a dataset count is only known during the run


def _never_true(node: dict[str, Any], path: str) -> tuple[str, str] | None:
    """``(path, reason)`` of the part that makes a validated condition false for every run, or None.

    A run either has failed so far or has not, so a condition false in both cases is false for every run.
    Recursion is bounded: the validator has already limited the tree's depth and size.
    """
    if _value(node, failed=False) is not False or _value(node, failed=True) is not False:
        return None
    if "param" in node:
        return f"{path}.in", "an empty 'in' list matches no value"
    if "not" in node:
        return f"{path}.not", "this part is always true, so its negation is never true"
    if "all" in node:
        for index, part in enumerate(node["all"]):
            found = _never_true(part, f"{path}.all[{index}]")
            if found is not None:
                return found
        return (
            f"{path}.all",
            "its parts cannot all be true at once (some need a failed run, others one that has not failed)",
        )
    if not node["any"]:
        return f"{path}.any", "an empty 'any' has no part that could be true"
    return f"{path}.any", "none of the parts of this 'any' can ever be true"


# --- evaluation -------------------------------------------------------------------------------------


def _holds(node: dict[str, Any], state: RunState) -> bool:
    """Whether a validated, non-empty condition holds; the one place truth is decided."""
    if "status" in node:
        return _status_holds(node["status"], state)
    if "dataset" in node:
        count = _count(node["dataset"], state)
        return count is not None and COMPARISONS[node["op"]](count, node["value"])
    if "param" in node:
        return _param_holds(node, state)
    if "not" in node:
        return not _holds(node["not"], state)
    if "all" in node:
        return all(_holds(part, state) for part in node["all"])
    return any(_holds(part, state) for part in node["any"])


def _status_holds(status: str, state: RunState) -> bool:
    """Whether the run's state so far matches a status condition."""
    if status == "any":
        return True
    return state.failed == (status == "failure")


def _count(alias: str, state: RunState) -> int | float | None:
    """The record count of a dataset alias, or None when the run has no usable count for it."""
    count = state.dataset_counts.get(alias)
    return count if _is_number(count) else None


def _param_holds(node: dict[str, Any], state: RunState) -> bool:
    """Whether the run's parameters pass a param condition's one test."""
    present = node["param"] in state.params
    if "exists" in node:
        return present == node["exists"]
    if not present:
        return False
    value = state.params[node["param"]]
    if "equals" in node:
        return _json_equal(value, node["equals"])
    return any(_json_equal(value, choice) for choice in node["in"])


def _json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON means it: 1 == 1.0, but true != 1 and "1" != 1; iterative, so depth is no risk."""
    pending = [(left, right)]
    while pending:
        a, b = pending.pop()
        if isinstance(a, bool) or isinstance(b, bool):
            if not (isinstance(a, bool) and isinstance(b, bool) and a == b):
                return False
        elif isinstance(a, int | float) and isinstance(b, int | float):
            if a != b:
                return False
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
            if len(a) != len(b):
                return False
            pending.extend(zip(a, b, strict=True))
        elif isinstance(a, Mapping) and isinstance(b, Mapping):
            if a.keys() != b.keys():
                return False
            pending.extend((a[key], b[key]) for key in a)
        elif type(a) is not type(b) or a != b:
            return False
    return True


# --- explanation ------------------------------------------------------------------------------------


def _explain(node: dict[str, Any], state: RunState) -> str:
    """Why a validated, non-empty condition is true or false, naming the part that decided it."""
    if "status" in node:
        actual = "failure" if state.failed else "success"
        if node["status"] == "any":
            return f"status is {actual}, condition accepts any status"
        return f"status is {actual}, condition requires {node['status']}"
    if "dataset" in node:
        return _explain_dataset(node, state)
    if "param" in node:
        return _explain_param(node, state)
    if "not" in node:
        inner = node["not"]
        return f"not: the negated part is {_truth(_holds(inner, state))} ({_explain(inner, state)})"
    if "all" in node:
        parts = node["all"]
        if not parts:
            return "all: no parts, so true"
        for number, part in enumerate(parts, start=1):
            if not _holds(part, state):
                return f"all: part {number} is false ({_explain(part, state)})"
        return f"all: every part is true ({_list_reasons(parts, state)})"
    parts = node["any"]
    if not parts:
        return "any: no parts, so false"
    for number, part in enumerate(parts, start=1):
        if _holds(part, state):
            return f"any: part {number} is true ({_explain(part, state)})"
    return f"any: no part is true ({_list_reasons(parts, state)})"


def _explain_dataset(node: dict[str, Any], state: RunState) -> str:
    """Why a dataset condition is true or false."""
    alias, requirement = _show(node["dataset"]), f"{node['op']} {_show(node['value'])}"
    count = _count(node["dataset"], state)
    if count is None:
        return f"dataset {alias} is unknown or has no record count, condition requires {requirement}"
    noun = "record" if count == 1 else "records"
    return f"dataset {alias} has {_show(count)} {noun}, condition requires {requirement}"


def _explain_param(node: dict[str, Any], state: RunState) -> str:
    """Why a param condition is true or false."""
    name = node["param"]
    actual = f"param {_show(name)} is {_show(state.params[name])}" if name in state.params else None
    if "exists" in node:
        requirement = "condition requires it to be set" if node["exists"] else "condition requires it to be unset"
        return f"{actual or f'param {_show(name)} is not set'}, {requirement}"
    if "equals" in node:
        requirement = f"condition requires {_show(node['equals'])}"
    else:
        choices = node["in"]
        shown = ", ".join(_show(choice) for choice in choices[:MAX_SHOWN_CHOICES])
        more = ", …" if len(choices) > MAX_SHOWN_CHOICES else ""
        requirement = f"condition requires one of [{shown}{more}]"
    return f"{actual or f'param {_show(name)} is not set'}, {requirement}"


def _list_reasons(parts: list[dict[str, Any]], state: RunState) -> str:
    """The explanations of several parts, numbered, in one line."""
    return "; ".join(f"part {number}: {_explain(part, state)}" for number, part in enumerate(parts, start=1))


def _truth(value: bool) -> str:
    """'true' or 'false'."""
    return "true" if value else "false"


def _show(value: Any) -> str:
    """A value as a short readable literal: strings quoted, JSON for the rest, long ones cut."""
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, float) and value.is_integer():
        text = str(int(value))  # 3.0 reads as a count, and JSON does not tell 3 from 3.0 anyway
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=repr)
        except (TypeError, ValueError, RecursionError):  # a param value that JSON cannot write
            text = _json_type(value)
    return _truncate(text, MAX_SHOWN_VALUE_LENGTH)


def _choices(values: Collection[str]) -> str:
    """Values as a quoted, comma-separated list for messages."""
    return ", ".join(repr(value) for value in values)


def _truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
