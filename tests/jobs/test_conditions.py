"""Run conditions (§7): evaluation, validation with exact paths, explanations and limits. No database."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.conditions import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_VALUE_DEPTH,
    ConditionError,
    RunState,
    evaluate,
    explain,
    validate_condition,
)

OK = RunState(failed=False)
FAILED = RunState(failed=True)


def with_counts(**counts: int) -> RunState:
    """A run that has not failed, with these dataset record counts."""
    return RunState(failed=False, dataset_counts=counts)


def with_params(**params: Any) -> RunState:
    """A run that has not failed, with these parameters."""
    return RunState(failed=False, params=params)


def nested_not(levels: int) -> dict[str, Any]:
    """A chain of `levels` condition objects: `not` wrapping `not` … wrapping a status leaf."""
    condition: dict[str, Any] = {"status": "success"}
    for _ in range(levels - 1):
        condition = {"not": condition}
    return condition


TRUE = {"status": "any"}
FALSE = {"not": {"status": "any"}}


# --- absent -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("condition", [None, {}])
@pytest.mark.parametrize("state", [OK, FAILED])
def test_absent_condition_always_holds(condition: Any, state: RunState) -> None:
    validate_condition(condition)
    assert evaluate(condition, state) is True
    assert explain(condition, state) == "no run condition, so the action always runs"


# --- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "failed", "expected"),
    [
        ("success", False, True),
        ("success", True, False),
        ("failure", False, False),
        ("failure", True, True),
        ("any", False, True),
        ("any", True, True),
    ],
)
def test_status(status: str, failed: bool, expected: bool) -> None:
    assert evaluate({"status": status}, RunState(failed=failed)) is expected


# --- dataset ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "count", "expected"),
    [
        ("==", 5, 4, False),
        ("==", 5, 5, True),
        ("==", 5, 6, False),
        ("==", 5.0, 5, True),
        ("!=", 5, 4, True),
        ("!=", 5, 5, False),
        ("!=", 5, 6, True),
        (">", 5, 4, False),
        (">", 5, 5, False),
        (">", 5, 6, True),
        (">", 0, 0, False),
        (">", 0, 1, True),
        (">", 4.5, 5, True),
        (">", -1, 0, True),
        (">=", 5, 4, False),
        (">=", 5, 5, True),
        (">=", 5, 6, True),
        (">=", 5.5, 5, False),
        ("<", 5, 4, True),
        ("<", 5, 5, False),
        ("<", 5, 6, False),
        ("<", 1, 0, True),
        ("<=", 5, 4, True),
        ("<=", 5, 5, True),
        ("<=", 5, 6, False),
        ("<=", 0, 0, True),
        ("<=", 4.5, 5, False),
    ],
)
def test_dataset_comparisons(op: str, value: float, count: int, expected: bool) -> None:
    condition = {"dataset": "orders", "op": op, "value": value}
    assert evaluate(condition, with_counts(orders=count)) is expected


@pytest.mark.parametrize("op", ["==", "!=", ">", ">=", "<", "<="])
def test_dataset_without_a_count_is_false_for_every_op(op: str) -> None:
    # given a run that knows another dataset's count but not this one's
    state = with_counts(customers=3)
    condition = {"dataset": "orders", "op": op, "value": 0}

    # when / then
    assert evaluate(condition, state) is False
    assert evaluate({"not": condition}, state) is True  # documented: `not` of an unknown count is true
    assert explain(condition, state) == (
        f"dataset 'orders' is unknown or has no record count, condition requires {op} 0"
    )


def test_dataset_count_that_is_not_a_number_counts_as_unknown() -> None:
    state = RunState(failed=False, dataset_counts={"orders": None})  # type: ignore[dict-item]
    assert evaluate({"dataset": "orders", "op": "<=", "value": 0}, state) is False


# --- param ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected_value", "result"),
    [
        ({"region": "eu"}, "eu", True),
        ({"region": "eu"}, "EU", False),
        ({"region": "eu"}, "us", False),
        ({"region": ""}, "", True),
        ({"region": "1"}, 1, False),
        ({"region": 1}, "1", False),
        ({"region": 1}, 1, True),
        ({"region": 1}, 1.0, True),
        ({"region": 1.5}, 1.5, True),
        ({"region": 0}, 0, True),
        ({"region": 2}, 3, False),
        ({"region": True}, True, True),
        ({"region": False}, False, True),
        ({"region": True}, False, False),
        ({"region": True}, 1, False),
        ({"region": 1}, True, False),
        ({"region": False}, 0, False),
        ({"region": 0}, False, False),
        ({"region": None}, None, True),
        ({"region": None}, "", False),
        ({"region": None}, False, False),
        ({"region": ""}, None, False),
        ({"region": [1, 2]}, [1, 2], True),
        ({"region": [1, 2]}, [2, 1], False),
        ({"region": [1, 2]}, [1, 2, 3], False),
        ({"region": [1]}, [1.0], True),
        ({"region": [True]}, [1], False),
        ({"region": ["a", ["b"]]}, ["a", ["b"]], True),
        ({"region": []}, [], True),
        ({"region": []}, None, False),
        ({"region": {"a": 1}}, {"a": 1.0}, True),
        ({"region": {"a": 1}}, {"a": 1, "b": 2}, False),
        ({"region": {"a": [1, {"b": None}]}}, {"a": [1, {"b": None}]}, True),
        ({"region": {"a": 0}}, {"a": False}, False),
        ({}, "eu", False),
        ({}, None, False),  # documented: a missing param does not equal null
        ({"other": "eu"}, "eu", False),
    ],
)
def test_param_equals(params: dict[str, Any], expected_value: Any, result: bool) -> None:
    condition = {"param": "region", "equals": expected_value}
    assert evaluate(condition, RunState(failed=False, params=params)) is result


@pytest.mark.parametrize(
    ("params", "exists", "result"),
    [
        ({"region": "eu"}, True, True),
        ({"region": "eu"}, False, False),
        ({"region": None}, True, True),  # documented: null is set
        ({"region": None}, False, False),
        ({}, True, False),
        ({}, False, True),
        ({"other": 1}, False, True),
    ],
)
def test_param_exists(params: dict[str, Any], exists: bool, result: bool) -> None:
    condition = {"param": "region", "exists": exists}
    assert evaluate(condition, RunState(failed=False, params=params)) is result


@pytest.mark.parametrize(
    ("params", "choices", "result"),
    [
        ({"region": "eu"}, ["us", "eu"], True),
        ({"region": "eu"}, ["us", "ca"], False),
        ({"region": "eu"}, [], False),  # documented: an empty list matches nothing
        ({"region": 1}, [True, "1"], False),
        ({"region": 1}, [1.0], True),
        ({"region": None}, [None], True),
        ({"region": [1]}, [[1], [2]], True),
        ({}, ["eu"], False),
        ({}, [None], False),
    ],
)
def test_param_in(params: dict[str, Any], choices: list[Any], result: bool) -> None:
    condition = {"param": "region", "in": choices}
    assert evaluate(condition, RunState(failed=False, params=params)) is result


# --- combinators ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "state", "expected"),
    [
        ({"all": []}, OK, True),
        ({"any": []}, OK, False),
        ({"not": {"all": []}}, OK, False),
        ({"not": {"any": []}}, OK, True),
        ({"all": [TRUE]}, OK, True),
        ({"all": [FALSE]}, OK, False),
        ({"all": [TRUE, TRUE, FALSE]}, OK, False),
        ({"any": [FALSE, FALSE, TRUE]}, OK, True),
        ({"any": [FALSE, FALSE]}, OK, False),
        ({"not": TRUE}, OK, False),
        ({"not": {"not": TRUE}}, OK, True),
        ({"not": {"status": "failure"}}, FAILED, False),
        # a failure notice that only goes out for the EU run
        ({"all": [{"status": "failure"}, {"param": "region", "equals": "eu"}]}, FAILED, False),
        (
            {"all": [{"status": "failure"}, {"param": "region", "equals": "eu"}]},
            RunState(failed=True, params={"region": "eu"}),
            True,
        ),
        # a report sent when there are orders, or when forced
        (
            {"any": [{"dataset": "orders", "op": ">", "value": 0}, {"param": "force", "equals": True}]},
            RunState(failed=False, params={"force": True}, dataset_counts={"orders": 0}),
            True,
        ),
        (
            {"any": [{"dataset": "orders", "op": ">", "value": 0}, {"param": "force", "equals": True}]},
            RunState(failed=False, params={"force": False}, dataset_counts={"orders": 0}),
            False,
        ),
        (
            {"all": [{"any": [FALSE, {"all": [TRUE, {"not": FALSE}]}]}, {"not": {"any": []}}]},
            OK,
            True,
        ),
        ({"all": [{"any": [FALSE, {"all": [TRUE, FALSE]}]}, TRUE]}, OK, False),
    ],
)
def test_combinators(condition: dict[str, Any], state: RunState, expected: bool) -> None:
    assert evaluate(condition, state) is expected


def test_all_and_any_stop_at_the_deciding_part() -> None:
    # given a state whose params raise if a third part were ever looked at
    class Exploding(dict[str, Any]):
        def __contains__(self, key: object) -> bool:
            raise AssertionError("evaluated past the deciding part")

    state = RunState(failed=False, params=Exploding())
    probe = {"param": "x", "exists": True}

    # when / then
    assert evaluate({"all": [TRUE, FALSE, probe]}, state) is False
    assert evaluate({"any": [FALSE, TRUE, probe]}, state) is True


# --- validation -------------------------------------------------------------------------------------

INVALID: list[tuple[Any, str, str]] = [
    # (condition, path, message fragment)
    ("success", "runCondition", "must be an object, not a string"),
    ([{"status": "success"}], "runCondition", "must be an object, not a list"),
    (True, "runCondition", "must be an object, not a boolean"),
    (0, "runCondition", "must be an object, not a number"),
    ({"stauts": "success"}, "runCondition", "no operator (keys: 'stauts')"),
    ({"op": ">", "value": 0}, "runCondition", "expected exactly one of 'status', 'dataset', 'param'"),
    ({"status": "success", "param": "x"}, "runCondition", "several operators ('status', 'param')"),
    ({"all": [], "any": []}, "runCondition", "combine conditions with 'all' or 'any'"),
    ({"status": "success", "extra": 1}, "runCondition.extra", "unknown key in a 'status' condition"),
    ({"status": "success", "op": "=="}, "runCondition.op", "unknown key in a 'status' condition"),
    ({"status": "success", "a b": 1}, 'runCondition["a b"]', "unknown key"),
    ({"status": "ok"}, "runCondition.status", "invalid status 'ok'; expected 'success', 'failure', 'any'"),
    ({"status": "Success"}, "runCondition.status", "invalid status 'Success'"),
    ({"status": None}, "runCondition.status", "invalid status null"),
    ({"status": ["success"]}, "runCondition.status", "invalid status"),
    ({"dataset": "", "op": ">", "value": 0}, "runCondition.dataset", "must be a non-empty dataset alias"),
    ({"dataset": "  ", "op": ">", "value": 0}, "runCondition.dataset", "must be a non-empty dataset alias"),
    ({"dataset": 3, "op": ">", "value": 0}, "runCondition.dataset", "must be a non-empty dataset alias"),
    ({"dataset": "orders", "value": 0}, "runCondition.op", "is required"),
    ({"dataset": "orders", "op": "=", "value": 0}, "runCondition.op", "unknown comparison '='"),
    ({"dataset": "orders", "op": "=>", "value": 0}, "runCondition.op", "expected '==', '!=', '>', '>=', '<', '<='"),
    ({"dataset": "orders", "op": None, "value": 0}, "runCondition.op", "unknown comparison null"),
    ({"dataset": "orders", "op": ">"}, "runCondition.value", "is required"),
    ({"dataset": "orders", "op": ">", "value": "0"}, "runCondition.value", "must be a number, not a string"),
    ({"dataset": "orders", "op": ">", "value": True}, "runCondition.value", "must be a number, not a boolean"),
    ({"dataset": "orders", "op": ">", "value": None}, "runCondition.value", "must be a number, not null"),
    ({"dataset": "orders", "op": ">", "value": float("nan")}, "runCondition.value", "must be a number"),
    ({"dataset": "orders", "op": ">", "value": float("inf")}, "runCondition.value", "must be a number"),
    ({"dataset": "orders", "op": ">", "value": 0, "equals": 1}, "runCondition.equals", "unknown key in a 'dataset'"),
    ({"param": "", "equals": 1}, "runCondition.param", "must be a non-empty parameter name"),
    ({"param": None, "equals": 1}, "runCondition.param", "must be a non-empty parameter name"),
    ({"param": "region"}, "runCondition", "needs one of 'equals', 'exists', 'in'"),
    ({"param": "region", "equals": 1, "in": [1]}, "runCondition", "takes only one of 'equals', 'in'"),
    ({"param": "region", "exists": "yes"}, "runCondition.exists", "must be true or false, not a string"),
    ({"param": "region", "exists": 1}, "runCondition.exists", "must be true or false, not a number"),
    ({"param": "region", "in": "eu"}, "runCondition.in", "must be a list of values, not a string"),
    ({"param": "region", "equals": 1, "op": "=="}, "runCondition.op", "unknown key in a 'param' condition"),
    ({"param": "region", "equals": float("nan")}, "runCondition.equals", "must be a finite number"),
    ({"param": "region", "equals": {"eu", "us"}}, "runCondition.equals", "must be a JSON value, not set"),
    ({"param": "region", "equals": ("eu",)}, "runCondition.equals", "must be a JSON value, not tuple"),
    ({"param": "region", "equals": {"a": [1, {2: 3}]}}, "runCondition.equals.a[1]", "object keys must be strings"),
    ({"param": "region", "in": ["eu", ["us", float("inf")]]}, "runCondition.in[1][1]", "must be a finite number"),
    ({"param": "region", "in": list(range(1001))}, "runCondition.in", "value too large (at most 1000 items)"),
    ({"all": {"status": "success"}}, "runCondition.all", "must be a list of conditions, not an object"),
    ({"any": None}, "runCondition.any", "must be a list of conditions, not null"),
    ({"all": [{"status": "success"}, {"status": "x"}]}, "runCondition.all[1].status", "invalid status 'x'"),
    ({"all": [{"status": "success"}, {}]}, "runCondition.all[1]", "empty condition"),
    ({"any": [None]}, "runCondition.any[0]", "must be an object, not null"),
    ({"not": [{"status": "success"}]}, "runCondition.not", "must be an object, not a list"),
    ({"not": None}, "runCondition.not", "must be an object, not null"),
    ({"not": {}}, "runCondition.not", "empty condition"),
    ({"not": {"status": "success"}, "all": []}, "runCondition", "several operators"),
    (
        {"any": [{"status": "any"}, {"all": [{"dataset": "orders", "op": "~", "value": 1}]}]},
        "runCondition.any[1].all[0].op",
        "unknown comparison '~'",
    ),
    ({"not": {"not": {"param": "x", "in": 1}}}, "runCondition.not.not.in", "must be a list of values"),
]


@pytest.mark.parametrize(("condition", "path", "fragment"), INVALID)
def test_invalid_conditions_name_the_offending_part(condition: Any, path: str, fragment: str) -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition(condition)
    assert caught.value.path == path
    assert fragment in caught.value.message
    assert str(caught.value) == f"{path}: {caught.value.message}"


@pytest.mark.parametrize(("condition", "path", "fragment"), INVALID)
def test_evaluate_and_explain_validate_first(condition: Any, path: str, fragment: str) -> None:
    for function in (evaluate, explain):
        with pytest.raises(ConditionError) as caught:
            function(condition, OK)
        assert caught.value.path == path


def test_the_path_prefix_is_the_callers() -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition({"all": [{"status": "x"}]}, path="actions[2].runCondition")
    assert caught.value.path == "actions[2].runCondition.all[0].status"


def test_condition_error_is_a_value_error_that_survives_pickling() -> None:
    error = ConditionError("runCondition.op", "unknown comparison '='")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ValueError)
    assert (copy.path, copy.message, str(copy)) == (
        error.path,
        error.message,
        "runCondition.op: unknown comparison '='",
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"status": "failure"},
        {"dataset": "orders", "op": ">=", "value": 1.5},
        {"dataset": "orders", "op": "==", "value": -1},
        {"param": "region", "equals": None},
        {"param": "region", "equals": {"nested": [1, "two", None]}},
        {"param": "region", "exists": False},
        {"param": "region", "in": [None]},
        {"all": []},
        {"not": {"any": []}},
        {"not": {"all": [{"any": [{"status": "failure"}]}]}},
        # a dead part does not make the whole never true
        {"any": [{"any": []}, {"status": "failure"}]},
        {"any": [{"status": "success"}, {"status": "failure"}]},
        # nothing is assumed about counts and params, not even that a count is never negative
        {"dataset": "orders", "op": "<", "value": 0},
        {"all": [{"param": "region", "exists": True}, {"param": "region", "exists": False}]},
    ],
)
def test_valid_conditions(condition: dict[str, Any]) -> None:
    validate_condition(condition)
    validate_condition(condition, dataset_aliases=["orders"])


NEVER = "so the condition can never be true and the action would never run"

# (condition, path of the part that decides it, reason)
NEVER_TRUE: list[tuple[dict[str, Any], str, str]] = [
    ({"any": []}, "runCondition.any", "an empty 'any' has no part that could be true"),
    ({"all": [{"any": []}]}, "runCondition.all[0].any", "an empty 'any' has no part that could be true"),
    ({"param": "region", "in": []}, "runCondition.in", "an empty 'in' list matches no value"),
    ({"not": {"all": []}}, "runCondition.not", "this part is always true, so its negation is never true"),
    ({"not": {"status": "any"}}, "runCondition.not", "this part is always true, so its negation is never true"),
    (
        {"not": {"any": [{"status": "success"}, {"status": "failure"}]}},
        "runCondition.not",
        "this part is always true, so its negation is never true",
    ),
    (
        {"all": [{"status": "success"}, {"param": "region", "in": []}]},
        "runCondition.all[1].in",
        "an empty 'in' list matches no value",
    ),
    (
        {"any": [{"any": []}, {"not": {"not": {"any": []}}}]},
        "runCondition.any",
        "none of the parts of this 'any' can ever be true",
    ),
    (
        {"all": [{"status": "success"}, {"param": "region", "exists": True}, {"status": "failure"}]},
        "runCondition.all",
        "its parts cannot all be true at once (some need a failed run, others one that has not failed)",
    ),
    (
        {
            "all": [
                {"param": "region", "exists": True},
                {"any": [{"dataset": "orders", "op": ">", "value": 0}, {"any": []}]},
                {"not": {"all": []}},
            ]
        },
        "runCondition.all[2].not",
        "this part is always true, so its negation is never true",
    ),
]


@pytest.mark.parametrize(("condition", "path", "reason"), NEVER_TRUE)
def test_a_condition_that_can_never_be_true_is_refused(condition: dict[str, Any], path: str, reason: str) -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition(condition)

    assert caught.value.path == path
    assert caught.value.message == f"{reason}, {NEVER}"


@pytest.mark.parametrize(("condition", "path", "reason"), NEVER_TRUE)
def test_a_stored_condition_that_can_never_be_true_still_evaluates_to_false(
    condition: dict[str, Any], path: str, reason: str
) -> None:
    for state in (OK, FAILED, RunState(failed=False, params={"region": "eu"}, dataset_counts={"orders": 3})):
        assert evaluate(condition, state) is False
        assert explain(condition, state)


def test_the_never_true_path_follows_a_custom_root() -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition({"all": [{"any": []}]}, path="actions[2].runCondition")
    assert caught.value.path == "actions[2].runCondition.all[0].any"


def test_a_malformed_part_is_reported_before_a_never_true_one() -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition({"all": [{"any": []}, {"status": "maybe"}]})
    assert caught.value.path == "runCondition.all[1].status"


def test_known_dataset_aliases_are_checked_when_given() -> None:
    # given a condition naming one known and one unknown alias
    condition = {"all": [{"dataset": "orders", "op": ">", "value": 0}, {"dataset": "customer", "op": ">", "value": 0}]}

    # when / then: without aliases it is accepted, with them the unknown one is named
    validate_condition(condition)
    with pytest.raises(ConditionError) as caught:
        validate_condition(condition, dataset_aliases={"orders", "customers"})
    assert caught.value.path == "runCondition.all[1].dataset"
    assert caught.value.message == (
        "unknown dataset alias 'customer'; the job's dataset aliases: 'customers', 'orders'"
    )


def test_a_job_without_datasets_accepts_no_dataset_condition() -> None:
    with pytest.raises(ConditionError) as caught:
        validate_condition({"dataset": "orders", "op": ">", "value": 0}, dataset_aliases=[])
    assert caught.value.path == "runCondition.dataset"
    assert caught.value.message.endswith("the job's dataset aliases: none")


def test_dataset_aliases_are_case_sensitive() -> None:
    with pytest.raises(ConditionError, match="unknown dataset alias 'Orders'"):
        validate_condition({"dataset": "Orders", "op": ">", "value": 0}, dataset_aliases=["orders"])


# --- limits -----------------------------------------------------------------------------------------


def test_depth_limit() -> None:
    # given chains of exactly the limit and one level more
    deepest_path = "runCondition" + ".not" * MAX_DEPTH

    # when / then
    validate_condition(nested_not(MAX_DEPTH))
    assert evaluate(nested_not(MAX_DEPTH), OK) is (MAX_DEPTH % 2 == 1)
    with pytest.raises(ConditionError) as caught:
        validate_condition(nested_not(MAX_DEPTH + 1))
    assert caught.value.path == deepest_path
    assert caught.value.message == f"nested too deeply (at most {MAX_DEPTH} levels)"


def test_depth_limit_counts_lists_too() -> None:
    condition: dict[str, Any] = {"status": "any"}
    for _ in range(MAX_DEPTH):
        condition = {"all": [condition]}
    with pytest.raises(ConditionError) as caught:
        validate_condition(condition)
    assert caught.value.path == "runCondition" + ".all[0]" * MAX_DEPTH
    assert "nested too deeply" in caught.value.message


def test_a_very_deep_condition_fails_without_recursing_through_it() -> None:
    # given nesting far beyond Python's recursion limit
    condition = nested_not(50_000)

    # when / then
    with pytest.raises(ConditionError, match="nested too deeply"):
        evaluate(condition, OK)


def test_a_self_referencing_condition_is_refused() -> None:
    condition: dict[str, Any] = {}
    condition["not"] = condition
    with pytest.raises(ConditionError, match="nested too deeply"):
        validate_condition(condition)


def test_node_limit() -> None:
    # given an `all` holding exactly the limit of condition objects, itself included
    at_limit = {"all": [TRUE] * (MAX_NODES - 1)}
    over_limit = {"all": [{"status": "any"}] * MAX_NODES}

    # when / then
    assert evaluate(at_limit, OK) is True
    with pytest.raises(ConditionError) as caught:
        validate_condition(over_limit)
    assert caught.value.path == f"runCondition.all[{MAX_NODES - 1}]"
    assert caught.value.message == f"too many conditions (at most {MAX_NODES} in all)"


def test_node_limit_counts_every_level() -> None:
    # 1 + 2 + 2·4 + 2·4·24 = 203 condition objects across four levels
    leaf_group = {"any": [TRUE] * 24}
    condition = {"all": [{"all": [leaf_group] * 4}] * 2}
    with pytest.raises(ConditionError, match="too many conditions"):
        validate_condition(condition)


def test_a_huge_list_fails_fast() -> None:
    condition = {"any": [TRUE] * 1_000_000}
    with pytest.raises(ConditionError) as caught:
        evaluate(condition, OK)
    assert caught.value.path == f"runCondition.any[{MAX_NODES - 1}]"


# --- explain ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "state", "explanation"),
    [
        ({"status": "failure"}, OK, "status is success, condition requires failure"),
        ({"status": "success"}, FAILED, "status is failure, condition requires success"),
        ({"status": "failure"}, FAILED, "status is failure, condition requires failure"),
        ({"status": "any"}, FAILED, "status is failure, condition accepts any status"),
        (
            {"dataset": "orders", "op": ">", "value": 0},
            with_counts(orders=0),
            "dataset 'orders' has 0 records, condition requires > 0",
        ),
        (
            {"dataset": "orders", "op": "==", "value": 2.0},
            with_counts(orders=1),
            "dataset 'orders' has 1 record, condition requires == 2",
        ),
        (
            {"dataset": "orders", "op": "<", "value": 2.5},
            with_counts(orders=1200),
            "dataset 'orders' has 1200 records, condition requires < 2.5",
        ),
        (
            {"dataset": "orders", "op": ">", "value": 0},
            OK,
            "dataset 'orders' is unknown or has no record count, condition requires > 0",
        ),
        (
            {"param": "region", "equals": "us"},
            with_params(region="eu"),
            "param 'region' is 'eu', condition requires 'us'",
        ),
        ({"param": "region", "equals": "us"}, OK, "param 'region' is not set, condition requires 'us'"),
        ({"param": "force", "equals": True}, with_params(force=1), "param 'force' is 1, condition requires true"),
        ({"param": "limit", "equals": None}, with_params(limit=0), "param 'limit' is 0, condition requires null"),
        (
            {"param": "ids", "equals": [1, 2]},
            with_params(ids=[2, 1]),
            "param 'ids' is [2, 1], condition requires [1, 2]",
        ),
        (
            {"param": "region", "equals": "x" * 100},
            with_params(region="eu"),
            "param 'region' is 'eu', condition requires '" + "x" * 58 + "…",
        ),
        ({"param": "region", "exists": True}, OK, "param 'region' is not set, condition requires it to be set"),
        (
            {"param": "region", "exists": False},
            with_params(region="eu"),
            "param 'region' is 'eu', condition requires it to be unset",
        ),
        (
            {"param": "region", "in": ["us", "ca"]},
            with_params(region="eu"),
            "param 'region' is 'eu', condition requires one of ['us', 'ca']",
        ),
        (
            {"param": "n", "in": [1, 2, 3, 4, 5, 6, 7]},
            with_params(n=8),
            "param 'n' is 8, condition requires one of [1, 2, 3, 4, 5, …]",
        ),
        (
            {"param": "region", "in": []},
            with_params(region="eu"),
            "param 'region' is 'eu', condition requires one of []",
        ),
        (
            {"all": [{"status": "success"}, {"status": "failure"}]},
            OK,
            "all: part 2 is false (status is success, condition requires failure)",
        ),
        (
            {"all": [{"status": "success"}, {"dataset": "orders", "op": ">", "value": 0}]},
            OK,
            "all: part 2 is false (dataset 'orders' is unknown or has no record count, condition requires > 0)",
        ),
        (
            {"all": [{"status": "success"}, {"status": "any"}]},
            OK,
            "all: every part is true (part 1: status is success, condition requires success; "
            "part 2: status is success, condition accepts any status)",
        ),
        ({"all": []}, OK, "all: no parts, so true"),
        ({"any": []}, OK, "any: no parts, so false"),
        (
            {"any": [{"status": "failure"}, {"param": "force", "equals": True}]},
            OK,
            "any: no part is true (part 1: status is success, condition requires failure; "
            "part 2: param 'force' is not set, condition requires true)",
        ),
        (
            {"any": [{"status": "failure"}, {"status": "success"}]},
            OK,
            "any: part 2 is true (status is success, condition requires success)",
        ),
        (
            {"not": {"status": "success"}},
            OK,
            "not: the negated part is true (status is success, condition requires success)",
        ),
        (
            {"all": [{"status": "any"}, {"any": [{"not": {"status": "any"}}]}]},
            OK,
            "all: part 2 is false (any: no part is true (part 1: not: the negated part is true "
            "(status is success, condition accepts any status)))",
        ),
    ],
)
def test_explain(condition: dict[str, Any], state: RunState, explanation: str) -> None:
    assert explain(condition, state) == explanation


def test_a_deeply_nested_value_is_refused() -> None:
    value: Any = "eu"
    for _ in range(MAX_VALUE_DEPTH + 1):
        value = [value]
    with pytest.raises(ConditionError) as caught:
        validate_condition({"param": "region", "equals": value})
    assert caught.value.path == "runCondition.equals" + "[0]" * (MAX_VALUE_DEPTH + 1)
    assert caught.value.message == f"value nested too deeply (at most {MAX_VALUE_DEPTH} levels)"
    validate_condition({"param": "region", "equals": value[0]})


def test_explain_survives_a_param_value_json_cannot_write() -> None:
    looped: list[Any] = []
    looped.append(looped)
    state = with_params(region=looped, other={("a",): 1})
    assert explain({"param": "region", "equals": "eu"}, state) == "param 'region' is a list, condition requires 'eu'"
    assert explain({"param": "other", "equals": {}}, state) == "param 'other' is an object, condition requires {}"


def test_explain_is_bounded() -> None:
    condition = {"any": [{"param": f"p{index}", "equals": "x" * 100} for index in range(MAX_NODES - 1)]}
    text = explain(condition, OK)
    assert len(text) == 500
    assert text.startswith("any: no part is true (part 1: param 'p0' is not set")
    assert text.endswith("…")


# --- state and robustness ---------------------------------------------------------------------------


def test_run_state_is_frozen_with_empty_defaults() -> None:
    state = RunState(failed=True)
    assert (dict(state.params), dict(state.dataset_counts)) == ({}, {})
    with pytest.raises(FrozenInstanceError):
        state.failed = False  # type: ignore[misc]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(
    ["status", "dataset", "param", "all", "any", "not", "op", "value", "equals", "exists", "in", "x"]
)
words = st.sampled_from(["success", "failure", "any", "orders", "region", ">", "==", "<=", "~", ""])
condition_like = st.recursive(
    json_values | words,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children | words, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(
    condition=condition_like,
    failed=st.booleans(),
    params=st.dictionaries(st.sampled_from(["region", "x"]), json_values, max_size=2),
    counts=st.dictionaries(st.sampled_from(["orders", "x"]), st.integers(min_value=0), max_size=2),
)
def test_any_input_either_evaluates_or_raises_condition_error(
    condition: Any, failed: bool, params: dict[str, Any], counts: dict[str, int]
) -> None:
    state = RunState(failed=failed, params=params, dataset_counts=counts)
    try:
        result = evaluate(condition, state)
    except ConditionError:
        with pytest.raises(ConditionError):
            explain(condition, state)
        return
    assert isinstance(result, bool)
    assert isinstance(explain(condition, state), str)
    if isinstance(condition, dict) and condition:
        assert evaluate({"not": condition}, state) is (not result)


leaves = (
    st.builds(lambda status: {"status": status}, st.sampled_from(["success", "failure", "any"]))
    | st.builds(
        lambda alias, op, value: {"dataset": alias, "op": op, "value": value},
        st.sampled_from(["orders", "unknown"]),
        st.sampled_from(["==", "!=", ">", ">=", "<", "<="]),
        st.integers(min_value=-2, max_value=5) | st.floats(min_value=-2, max_value=5),
    )
    | st.builds(lambda value: {"param": "region", "equals": value}, json_values)
    | st.builds(lambda choices: {"param": "region", "in": choices}, st.lists(json_values, max_size=3))
    | st.builds(lambda exists: {"param": "region", "exists": exists}, st.booleans())
)
valid_conditions = st.recursive(
    leaves,
    lambda children: (
        st.builds(lambda parts: {"all": parts}, st.lists(children, max_size=3))
        | st.builds(lambda parts: {"any": parts}, st.lists(children, max_size=3))
        | st.builds(lambda part: {"not": part}, children)
    ),
    max_leaves=10,
)
states = st.builds(
    RunState,
    failed=st.booleans(),
    params=st.dictionaries(st.just("region"), json_values, max_size=1),
    dataset_counts=st.dictionaries(st.just("orders"), st.integers(min_value=0, max_value=4), max_size=1),
)


@settings(max_examples=300, deadline=None)
@given(first=valid_conditions, second=valid_conditions, state=states)
def test_valid_conditions_obey_boolean_laws(first: dict[str, Any], second: dict[str, Any], state: RunState) -> None:
    # given two valid conditions and their values
    a, b = evaluate(first, state), evaluate(second, state)

    # then the combinators behave as boolean logic, including De Morgan
    assert evaluate({"not": first}, state) is (not a)
    assert evaluate({"all": [first, second]}, state) is (a and b)
    assert evaluate({"any": [first, second]}, state) is (a or b)
    assert evaluate({"not": {"all": [first, second]}}, state) is evaluate(
        {"any": [{"not": first}, {"not": second}]}, state
    )
    # and explain names the deciding part of a combination
    if not a:
        assert explain({"all": [TRUE, first, second]}, state).startswith("all: part 2 is false (")
    if b:
        assert explain({"any": [FALSE, second, first]}, state).startswith("any: part 2 is true (")


status_conditions = st.recursive(
    st.sampled_from([{"status": "success"}, {"status": "failure"}, {"status": "any"}]),
    lambda children: (
        st.builds(lambda parts: {"all": parts}, st.lists(children, max_size=3))
        | st.builds(lambda parts: {"any": parts}, st.lists(children, max_size=3))
        | st.builds(lambda part: {"not": part}, children)
    ),
    max_leaves=8,
)


def refused_as_never_true(condition: dict[str, Any]) -> bool:
    try:
        validate_condition(condition)
    except ConditionError as error:
        assert error.message.endswith(NEVER), error
        return True
    return False


@settings(max_examples=300, deadline=None)
@given(condition=valid_conditions, state=states)
def test_a_refused_condition_is_false_for_every_run(condition: dict[str, Any], state: RunState) -> None:
    # soundness: nothing that could be true for some run is refused
    if refused_as_never_true(condition):
        assert evaluate(condition, state) is False


@settings(max_examples=300, deadline=None)
@given(condition=status_conditions)
def test_a_condition_over_the_run_status_is_refused_exactly_when_no_run_satisfies_it(condition: dict[str, Any]) -> None:
    # a status condition sees one fact, whether the run has failed, so both cases decide it completely
    satisfiable = evaluate(condition, OK) or evaluate(condition, FAILED)
    assert refused_as_never_true(condition) is not satisfiable
