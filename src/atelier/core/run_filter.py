"""The Studio's runs-table filter: ``metrics.accuracy > 0.9 and tags.model = "lr"``.

Comparisons joined by ``and``; each names ``metrics.<name>``, ``params.<name>``,
``tags.<name>`` or an attribute (``status``, ``name``, ``run_id``, ``target``), an operator
(``= != < <= > >=``, and ``~`` for "contains" on text) and a number or a quoted string.
A name with spaces or dots goes in backquotes: ``metrics.`val loss```. A mistake raises
:class:`FilterSyntaxError`, whose ``column`` (1-based) points at the offending character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from atelier.core.errors import FilterSyntaxError

ENTITIES = {"metrics": "metrics", "metric": "metrics", "params": "params", "param": "params"}
ENTITIES |= {"tags": "tags", "tag": "tags", "attributes": "attributes"}
ATTRIBUTES = ("status", "name", "run_id", "target", "run_type")
OPERATORS = ("<=", ">=", "!=", "=", "<", ">", "~")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_KEY = re.compile(r"[A-Za-z0-9_\-/:+]+(?:\.[A-Za-z0-9_\-/:+]+)*")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
HINT = 'e.g. metrics.accuracy > 0.9 and tags.model = "lr"'


def filter_error(text: str, column: int, why: str) -> FilterSyntaxError:
    """The error for a filter that does not parse at ``column`` (1-based), pointing there."""
    pointer = " " * (column - 1) + "^"
    message = f"filter error at column {column}: {why} ({HINT})\n{text}\n{pointer}"
    return FilterSyntaxError(message, column, why)


@dataclass(frozen=True, slots=True)
class FilterClause:
    entity: str  # metrics, params, tags or attributes
    key: str
    op: str
    value: float | str


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def fail(self, why: str, at: int | None = None) -> FilterSyntaxError:
        return filter_error(self.text, (self.at if at is None else at) + 1, why)

    def match(self, pattern: re.Pattern[str]) -> str | None:
        found = pattern.match(self.text, self.at)
        if found is None:
            return None
        self.at = found.end()
        return found.group()

    def quoted(self, quote: str) -> str:
        start = self.at
        end = self.text.find(quote, start + 1)
        if end < 0:
            raise self.fail(f"the {quote} opened here is not closed", start)
        self.at = end + 1
        return self.text[start + 1 : end]


def _identifier(reader: _Reader) -> tuple[str, str]:
    start = reader.at
    head = reader.match(_NAME)
    if head is None:
        raise reader.fail("expected a column such as metrics.accuracy, params.lr or status")
    if reader.at < len(reader.text) and reader.text[reader.at] == ".":
        entity = ENTITIES.get(head.lower())
        if entity is None:
            raise reader.fail(f"{head!r} is not metrics, params, tags or attributes", start)
        reader.at += 1
        if reader.at < len(reader.text) and reader.text[reader.at] == "`":
            key = reader.quoted("`")
        else:
            key = reader.match(_KEY) or ""
        if not key:
            raise reader.fail(f"{head}. names no key")
        if entity != "attributes":
            return entity, key
        head = key
    if head.lower() not in ATTRIBUTES:
        raise reader.fail(
            f"{head!r} is no column; use metrics.NAME, params.NAME, tags.NAME or one of "
            + ", ".join(ATTRIBUTES),
            start,
        )
    return "attributes", head.lower()


def _clause(reader: _Reader) -> FilterClause:
    entity, key = _identifier(reader)
    reader.skip()
    op = next((o for o in OPERATORS if reader.text.startswith(o, reader.at)), None)
    if op is None:
        raise reader.fail("expected a comparison: = != < <= > >= or ~")
    reader.at += len(op)
    reader.skip()
    start = reader.at
    if reader.at >= len(reader.text):
        raise reader.fail("the comparison has no value")
    value: float | str
    if reader.text[reader.at] in "'\"":
        value = reader.quoted(reader.text[reader.at])
        if entity == "metrics":
            raise reader.fail(f"metrics.{key} is a number: compare it with one", start)
        if op in ("<", "<=", ">", ">="):
            raise reader.fail(f"{op} compares numbers; text takes = != or ~", start - len(op) - 1)
    else:
        if entity != "metrics":
            bare = reader.match(_KEY) or reader.text[start]
            raise reader.fail(f'{entity}.{key} is text: quote the value, "{bare}"', start)
        number = reader.match(_NUMBER)
        if number is None:
            raise reader.fail('expected a number or a "quoted" text')
        if op == "~":
            raise reader.fail("~ (contains) is for text", start - 2)
        value = float(number)
    return FilterClause(entity, key, op, value)


def parse(text: str | None) -> list[FilterClause]:
    """The clauses of ``text`` (none for an empty filter)."""
    if text is None or not text.strip():
        return []
    if len(text) > 2000:
        raise filter_error(text[:80], 2001, "the filter is longer than 2000 characters")
    reader = _Reader(text)
    clauses: list[FilterClause] = []
    while True:
        reader.skip()
        clauses.append(_clause(reader))
        reader.skip()
        if reader.at >= len(text):
            return clauses
        start = reader.at
        word = reader.match(_NAME)
        if word is None or word.lower() != "and":
            raise reader.fail("expected 'and' between comparisons (or the end)", start)
        reader.skip()
        if reader.at >= len(text):
            raise reader.fail("the filter ends with 'and'")
