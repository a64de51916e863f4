"""MLflow's run filter and order strings applied to a DataFrame of runs.

``metrics.accuracy > 0.9 and tags.area = 'demo' and status = 'Completed'``: clauses joined
by ``and``; a key is ``metrics.NAME``, ``params.NAME`` (or ``properties.NAME``), ``tags.NAME``
or an attribute (``status``, ``display_name``, ``run_id``, ``experiment``, ``start_time``,
``end_time``), optionally prefixed ``attributes.``; a name with spaces goes in backticks.
Operators: ``= != < <= > >= LIKE ILIKE``; values are quoted text or numbers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd

ATTRIBUTES = {
    "status": "status",
    "display_name": "display_name",
    "run_name": "display_name",
    "run_id": "run_id",
    "experiment": "experiment",
    "experiment_id": "experiment_id",
    "start_time": "start_time",
    "end_time": "end_time",
    "run_number": "run_number",
}
_PREFIXES = {"metrics": "metrics", "metric": "metrics", "params": "params", "param": "params"}
_PREFIXES |= {"properties": "params", "tags": "tags", "tag": "tags"}

_CLAUSE = re.compile(
    r"""\s*(?P<key>(?:[A-Za-z_]+\.)?(?:`[^`]+`|[\w.\-/:]+))\s*
    (?P<op>!=|<=|>=|=|<|>|\bI?LIKE\b)\s*
    (?P<value>'(?:[^']|'')*'|"[^"]*"|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*""",
    re.VERBOSE | re.IGNORECASE,
)
_AND = re.compile(r"\s*\band\b\s*", re.IGNORECASE)
FILTER_HELP = (
    "write clauses like \"metrics.accuracy > 0.9 and tags.area = 'demo' and status = 'Completed'\""
)


def column_for(key: str) -> str:
    """``metrics.acc`` -> ``metrics.acc``; ``attributes.status`` / ``status`` -> ``status``."""
    prefix, dot, rest = key.partition(".")
    if dot and prefix.lower() in _PREFIXES:
        return f"{_PREFIXES[prefix.lower()]}.{rest.strip('`')}"
    if dot and prefix.lower() == "attributes":
        key = rest
    if key.lower() in ATTRIBUTES:
        return ATTRIBUTES[key.lower()]
    raise ValidationError(
        f"unknown run field {key!r}: use metrics.NAME, params.NAME, tags.NAME or one of "
        f"{', '.join(sorted(ATTRIBUTES))}"
    )


def _value(text: str) -> Any:
    if text[0] in "'\"":
        return text[1:-1].replace("''", "'")
    return float(text)


def _like(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE if ignore_case else 0)


def parse_filter(filter_string: str) -> list[tuple[str, str, Any]]:
    """``(column, operator, value)`` clauses, or ``ValidationError`` saying how to write it."""
    clauses = []
    text = filter_string.strip()
    while text:
        match = _CLAUSE.match(text)
        if match is None:
            raise ValidationError(f"cannot read the run filter at {text!r}; {FILTER_HELP}")
        clauses.append((column_for(match["key"]), match["op"].upper(), _value(match["value"])))
        text = text[match.end() :]
        if text:
            joined = _AND.match(text)
            if joined is None:
                raise ValidationError(
                    f"cannot read the run filter at {text!r}: join clauses with 'and'; "
                    f"{FILTER_HELP}"
                )
            text = text[joined.end() :]
    return clauses


def apply_filter(frame: pd.DataFrame, filter_string: str) -> pd.DataFrame:
    """The rows of ``frame`` for which every clause holds (a run without the field fails)."""
    import pandas as pd

    clauses = parse_filter(filter_string)
    mask = pd.Series(True, index=frame.index)
    for column, op, given in clauses:
        value = given
        if column not in frame.columns:
            return frame.iloc[0:0]
        cells = frame[column]
        if column in ("start_time", "end_time") and not isinstance(value, str):
            value = pd.Timestamp(int(value), unit="ms", tz="UTC")
        if op in ("LIKE", "ILIKE"):
            pattern = _like(str(value), op == "ILIKE")
            mask &= cells.map(lambda c, p=pattern: isinstance(c, str) and bool(p.fullmatch(c)))
            continue
        if column.startswith("metrics.") and isinstance(value, str):
            raise ValidationError(f"compare {column} with a number, not {value!r}")
        if column.startswith(("params.", "tags.")) or column in ("status", "display_name"):
            value = value if isinstance(value, str) else _number_text(value)
        mask &= _compare(cells, op, value)
    return frame[mask.fillna(False).astype(bool)]


def _number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _compare(cells: pd.Series, op: str, value: Any) -> pd.Series:
    if op == "=":
        return cells == value
    if op == "!=":
        return cells.notna() & (cells != value)
    if op == "<":
        return cells < value
    if op == "<=":
        return cells <= value
    if op == ">":
        return cells > value
    return cells >= value


def parse_order(
    order_by: str | Sequence[str], columns: list[str], columns_known: bool = True
) -> list[tuple[str, bool]]:
    """``["metrics.accuracy DESC", "start_time"]`` -> ``[(column, ascending)]``.

    A bare name is a metric (azureml's ``"accuracy desc"``); a field no run has is an error
    that lists the ones there are."""
    items = [order_by] if isinstance(order_by, str) else list(order_by)
    found = []
    for item in items:
        words = item.strip().rsplit(None, 1)
        ascending = True
        key = item.strip()
        if len(words) == 2 and words[1].lower() in ("asc", "desc"):
            key, ascending = words[0], words[1].lower() == "asc"
        if not key:
            raise ValidationError(f"empty order {item!r}; write 'metrics.NAME DESC'")
        prefix = key.partition(".")[0].lower()
        if prefix in _PREFIXES or prefix == "attributes" or key.lower() in ATTRIBUTES:
            column = column_for(key)
        else:
            column = f"metrics.{key.strip('`')}"
        if column not in columns and columns_known:
            metrics = [c.removeprefix("metrics.") for c in columns if c.startswith("metrics.")]
            raise ValidationError(
                f"cannot order by {item!r}: no run has {column!r}; the runs have metrics "
                f"{', '.join(metrics) or '(none)'}; write 'NAME asc' or 'NAME desc'"
            )
        found.append((column, ascending))
    return found
