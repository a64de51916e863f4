from __future__ import annotations

import pytest

from atelier.core.errors import ValidationError
from atelier.core.run_filter import FilterClause, FilterSyntaxError, parse


def test_comparisons_joined_by_and_parse_into_clauses() -> None:
    found = parse("metrics.accuracy > 0.9 and tags.model = \"lr\" AND params.`a b` ~ 'x'")
    assert found == [
        FilterClause("metrics", "accuracy", ">", 0.9),
        FilterClause("tags", "model", "=", "lr"),
        FilterClause("params", "a b", "~", "x"),
    ]
    assert parse("status = 'Completed'") == [FilterClause("attributes", "status", "=", "Completed")]
    assert parse("metrics.val.loss <= -1e-3") == [FilterClause("metrics", "val.loss", "<=", -0.001)]
    assert parse("  ") == []


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("metrics.accuracy >> 0.9", 19, "expected a number"),
        ("tags.model = lr", 14, 'quote the value, "lr"'),
        ("metrics.accuracy = 'high'", 20, "is a number"),
        ("colour = 'red'", 1, "is no column"),
        ('metrics.a > 1 or tags.b = "x"', 15, "expected 'and'"),
        ("metrics.a > 1 and", 18, "ends with 'and'"),
        ("tags.model = 'lr", 14, "not closed"),
        ("metrics.a", 10, "expected a comparison"),
        ("nothing.a = 1", 1, "is not metrics, params, tags"),
        ("tags.model > 'a'", 12, "compares numbers"),
    ],
)
def test_a_mistake_names_its_column(text: str, column: int, words: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        parse(text)
    assert caught.value.column == column, str(caught.value)
    assert words in str(caught.value)
    assert isinstance(caught.value, ValidationError)
    assert str(caught.value).endswith("\n" + text + "\n" + " " * (column - 1) + "^")
