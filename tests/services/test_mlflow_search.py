"""MLflow's filter and order_by grammar, parsed and evaluated without a server."""

from __future__ import annotations

from typing import Any

import pytest

from atelier.core.errors import ValidationError
from atelier.services import mlflow_search as search

RUNS: list[dict[str, Any]] = [
    {"metrics": {"rmse": 0.5}, "params": {"alpha": "0.1"}, "tags": {"team": "vision"}},
    {"metrics": {"rmse": 1.5}, "params": {"alpha": "0.2"}, "tags": {"team": "Speech"}},
    {"metrics": {}, "params": {"alpha": "0.1"}, "tags": {"my tag": "x"}},
]


def _get(run: dict[str, Any], entity: str, key: str) -> Any:
    return run.get(entity, {}).get(key)


def _indexes(filter_text: str, absent_differs: bool = False) -> list[int]:
    kept = search.keep(RUNS, search.parse_filter(filter_text), _get, absent_differs)
    return [RUNS.index(run) for run in kept]


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ("", [0, 1, 2]),
        ("metrics.rmse < 1", [0]),
        ("metrics.rmse >= 0.5 AND params.alpha = '0.2'", [1]),
        ("metric.rmse != 0.5", [1]),
        ("params.alpha IN ('0.1', '0.3')", [0, 2]),
        ("params.alpha NOT IN ('0.1')", [1]),
        ("tags.team LIKE 'vis%'", [0]),
        ("tags.team ILIKE 'speech'", [1]),
        ("tags.team LIKE 'v_sion'", [0]),
        ("tags.\"my tag\" = 'x'", [2]),
        ("tags.`my tag` = 'x'", [2]),
        ("tags.team IS NULL", [2]),
        ("tags.team IS NOT NULL and metrics.rmse<1", [0]),
        ("tags.team != 'vision'", [1]),
    ],
)
def test_filters_select_the_matching_items(filter_text: str, expected: list[int]) -> None:
    assert _indexes(filter_text) == expected


def test_registry_semantics_let_a_missing_tag_differ() -> None:
    assert _indexes("tags.team != 'vision'", absent_differs=True) == [1, 2]


@pytest.mark.parametrize(
    ("filter_text", "complaint"),
    [
        ("metrics.rmse ~ 1", "unexpected character"),
        ("metrics.rmse < 'low'", "compares with a number"),
        ("metrics.rmse LIKE 1", "compares as a number"),
        ("params.alpha < '1'", "compares as text"),
        ("params.alpha = 0.1", "quote the text value"),
        ("params.alpha = '1' OR tags.a = 'b'", "OR is not supported"),
        ("params.alpha = '1' AND", "ends with AND"),
        ("params.alpha IN '1'", "parenthesized list"),
        ("params.alpha IN (1, 2)", "quoted strings"),
        ("tags.team = 'open", "not closed"),
        ("metrics.", "names no key"),
        ("params.alpha", "has no comparison"),
        ("params.alpha =", "has no value"),
        ("params.alpha BETWEEN '1'", "not a comparison operator"),
    ],
)
def test_malformed_filters_say_what_is_wrong(filter_text: str, complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint) as caught:
        search.parse_filter(filter_text)
    assert "AND" in caught.value.message  # every message shows the grammar


def test_order_by_sorts_with_missing_values_last() -> None:
    items = list(RUNS)
    search.sort(items, search.parse_order_by(["metrics.rmse DESC"]), _get)
    assert [RUNS.index(run) for run in items] == [1, 0, 2]
    search.sort(items, search.parse_order_by(["params.alpha", "metrics.rmse ASC"]), _get)
    assert [RUNS.index(run) for run in items] == [0, 2, 1]
    with pytest.raises(ValidationError, match="ASC or DESC"):
        search.parse_order_by(["metrics.rmse SIDEWAYS"])
    with pytest.raises(ValidationError, match="order_by"):
        search.parse_order_by(["metrics.rmse ASC extra"])
