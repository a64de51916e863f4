"""MLflow's search grammar: filter strings and ``order_by`` clauses, parsed and evaluated.

A filter is comparisons joined by ``AND``: ``metrics.rmse < 1 and params.alpha = '0.5'
and tags."team name" LIKE 'vision%' and attributes.status IN ('FINISHED', 'RUNNING')``.
Each comparison names an entity (``metrics``, ``params``, ``tags``, ``attributes``) and a
key; metrics and the time attributes compare as numbers, everything else as text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from atelier.core.errors import ValidationError

T = TypeVar("T")

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time", "created", "creation_time"})
_NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_TEXT_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
_NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
_WORD = re.compile(r"[A-Za-z0-9_.\-+/:]+")
_OPERATOR = re.compile(r"<=|>=|!=|<>|=|<|>")
GRAMMAR_HINT = (
    "write comparisons joined by AND, e.g. \"metrics.rmse < 1 and params.alpha = '0.5' "
    "and tags.team = 'vision' and attributes.status = 'FINISHED'\""
)


@dataclass(frozen=True, slots=True)
class Clause:
    """One comparison: ``entity`` is metrics, params, tags or attributes."""

    entity: str
    key: str
    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class OrderKey:
    entity: str
    key: str
    ascending: bool


def _bad(text: str, why: str) -> ValidationError:
    return ValidationError(f"cannot parse the search expression {text!r}: {why}; {GRAMMAR_HINT}")


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: word, string, op, tuple."""
    found: list[tuple[str, str]] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "'\"`":
            end = text.find(char, index + 1)
            if end < 0:
                raise _bad(text, f"a {char} quote is not closed")
            quoted = text[index + 1 : end]
            if found and found[-1][0] == "word" and found[-1][1].endswith("."):
                found[-1] = ("word", found[-1][1] + quoted)  # metrics."a b" names a key
            else:
                found.append(("string" if char != "`" else "word", quoted))
            index = end + 1
        elif char == "(":
            end = text.find(")", index)
            if end < 0:
                raise _bad(text, "a '(' is not closed")
            found.append(("tuple", text[index + 1 : end]))
            index = end + 1
        elif match := _OPERATOR.match(text, index):
            found.append(("op", "!=" if match.group() == "<>" else match.group()))
            index = match.end()
        elif match := _WORD.match(text, index):
            found.append(("word", match.group()))
            index = match.end()
        else:
            raise _bad(text, f"unexpected character {char!r}")
    return found


def split_identifier(text: str, identifier: str) -> tuple[str, str]:
    """``metrics.rmse`` → ("metrics", "rmse"); a bare name is an attribute."""
    head, dot, rest = identifier.partition(".")
    if dot and head.lower() in _ENTITIES:
        entity, key = _ENTITIES[head.lower()], rest
    else:
        entity, key = "attributes", identifier
    if not key:
        raise _bad(text, f"{identifier!r} names no key")
    if entity == "attributes":
        key = key.lower()
    return entity, key


def _tuple_values(text: str, raw: str) -> tuple[str, ...]:
    values = []
    for part in raw.split(","):
        item = part.strip()
        if len(item) < 2 or item[0] not in "'\"" or item[-1] != item[0]:
            raise _bad(text, f"IN takes a list of quoted strings, not ({raw})")
        values.append(item[1:-1])
    return tuple(values)


def _operator(text: str, tokens: list[tuple[str, str]], index: int) -> tuple[str, int]:
    kind, word = tokens[index]
    if kind == "op":
        return word, index + 1
    upper = word.upper()
    if upper in ("LIKE", "ILIKE", "IN"):
        return upper, index + 1
    following = [w.upper() for _, w in tokens[index + 1 : index + 3]]
    if upper == "NOT" and following[:1] == ["IN"]:
        return "NOT IN", index + 2
    if upper == "IS" and following[:1] == ["NULL"]:
        return "IS NULL", index + 2
    if upper == "IS" and following == ["NOT", "NULL"]:
        return "IS NOT NULL", index + 3
    raise _bad(text, f"{word!r} is not a comparison operator")


def _is_numeric(entity: str, key: str) -> bool:
    return entity == "metrics" or (entity == "attributes" and key in NUMERIC_ATTRIBUTES)


def _value(text: str, clause: tuple[str, str, str], token: tuple[str, str]) -> Any:
    entity, key, op = clause
    kind, raw = token
    if op in ("IN", "NOT IN"):
        if kind != "tuple":
            raise _bad(text, f"{op} needs a parenthesized list")
        return _tuple_values(text, raw)
    if _is_numeric(entity, key):
        if op not in _NUMERIC_OPS:
            raise _bad(text, f"{entity}.{key} compares as a number: use = != < <= > >=")
        try:
            return float(raw)
        except ValueError:
            raise _bad(text, f"{entity}.{key} compares with a number, not {raw!r}") from None
    if op not in _TEXT_OPS:
        raise _bad(text, f"{entity}.{key} compares as text: use = != LIKE ILIKE IN or NOT IN")
    if kind != "string":
        raise _bad(text, f"quote the text value {raw!r} compared with {entity}.{key}")
    return raw


def parse_filter(text: str | None) -> list[Clause]:
    """The clauses of a filter string (an empty or missing filter has none)."""
    if not text or not text.strip():
        return []
    if not isinstance(text, str):
        raise ValidationError(f"a filter must be a string, not {type(text).__name__}")
    tokens = _tokens(text)
    clauses: list[Clause] = []
    index = 0
    while index < len(tokens):
        kind, word = tokens[index]
        if kind != "word":
            raise _bad(text, f"expected a name like metrics.rmse, found {word!r}")
        entity, key = split_identifier(text, word)
        if index + 1 >= len(tokens):
            raise _bad(text, f"{word!r} has no comparison")
        op, index = _operator(text, tokens, index + 1)
        if op in _NULL_OPS:
            clauses.append(Clause(entity, key, op, None))
        else:
            if index >= len(tokens):
                raise _bad(text, f"{word} {op} has no value")
            clauses.append(Clause(entity, key, op, _value(text, (entity, key, op), tokens[index])))
            index += 1
        if index < len(tokens):
            if tokens[index][1].upper() != "AND":
                raise _bad(text, f"expected AND, found {tokens[index][1]!r} (OR is not supported)")
            index += 1
            if index >= len(tokens):
                raise _bad(text, "the expression ends with AND")
    return clauses


def _like(pattern: str, value: str, fold: bool) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if fold else re.DOTALL) is not None


_ORDERED: dict[str, Callable[[Any, Any], Any]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "IN": lambda a, b: a in b,
    "NOT IN": lambda a, b: a not in b,
}


def _compare(op: str, actual: Any, wanted: Any, absent_differs: bool) -> bool:
    if op == "IS NULL":
        return actual is None
    if op == "IS NOT NULL":
        return actual is not None
    if actual is None:
        return absent_differs and op in ("!=", "NOT IN")
    if op in ("LIKE", "ILIKE"):
        return _like(wanted, str(actual), op == "ILIKE")
    return bool(_ORDERED[op](actual, wanted))


Getter = Callable[[str, str], Any]


def matches(clauses: list[Clause], get: Getter, absent_differs: bool = False) -> bool:
    """Whether every clause holds for the object whose values ``get(entity, key)`` returns.

    A missing value fails every comparison, except ``!=``/``NOT IN`` when ``absent_differs``
    (MLflow's registry treats a missing tag as different from any value; its run search
    does not)."""
    for clause in clauses:
        actual = get(clause.entity, clause.key)
        if isinstance(clause.value, float) and actual is not None:
            try:
                actual = float(actual)
            except (TypeError, ValueError):
                return False
            if math.isnan(actual):
                return False
        if not _compare(clause.op, actual, clause.value, absent_differs):
            return False
    return True


def keep(
    items: list[T],
    clauses: list[Clause],
    get: Callable[[T, str, str], Any],
    absent_differs: bool = False,
) -> list[T]:
    """The items for which every clause holds, ``get(item, entity, key)`` giving values."""
    if not clauses:
        return list(items)
    return [item for item in items if matches(clauses, partial(get, item), absent_differs)]


def parse_order_by(items: list[str] | None) -> list[OrderKey]:
    """``["metrics.rmse ASC", "attributes.start_time DESC"]`` → order keys."""
    keys = []
    for item in items or []:
        if not isinstance(item, str) or not item.strip():
            raise ValidationError(f"order_by entries must be non-empty strings, not {item!r}")
        tokens = _tokens(item)
        if not tokens or tokens[0][0] != "word" or len(tokens) > 2:
            raise ValidationError(
                f"cannot parse order_by {item!r}: use '<entity>.<key> [ASC|DESC]', "
                "e.g. 'metrics.rmse ASC'"
            )
        entity, key = split_identifier(item, tokens[0][1])
        direction = tokens[1][1].upper() if len(tokens) == 2 else "ASC"
        if direction not in ("ASC", "DESC"):
            raise ValidationError(f"order_by {item!r}: the direction must be ASC or DESC")
        keys.append(OrderKey(entity, key, direction == "ASC"))
    return keys


def sort(items: list[Any], keys: list[OrderKey], get: Callable[[Any, str, str], Any]) -> None:
    """Sort in place by ``keys`` (stable, applied last key first); missing values go last."""
    for key in reversed(keys):
        present = [item for item in items if get(item, key.entity, key.key) is not None]
        absent = [item for item in items if get(item, key.entity, key.key) is None]
        present.sort(
            key=lambda item: _sortable(get(item, key.entity, key.key)), reverse=not key.ascending
        )
        items[:] = present + absent


def _sortable(value: Any) -> tuple[int, Any]:
    if isinstance(value, int | float):
        return (0, value)
    return (1, str(value))
