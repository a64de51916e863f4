"""Statements whose SQL differs between SQLite and PostgreSQL."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from atelier.store.models import MetricLatestRow


def _least_greatest(dialect: str) -> tuple[Any, Any]:
    if dialect == "sqlite":
        return func.min, func.max  # two-argument min()/max() are scalar in SQLite
    return func.least, func.greatest


def upsert_latest_metrics(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or advance the ``metric_latest`` row of each (run, name) in ``rows``."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    # imported here: the PostgreSQL dialect costs 0.15 s, which a CLI call on SQLite skips
    module: Any = importlib.import_module(
        "sqlalchemy.dialects.sqlite" if dialect == "sqlite" else "sqlalchemy.dialects.postgresql"
    )
    statement = module.insert(MetricLatestRow)
    excluded = statement.excluded
    least, greatest = _least_greatest(dialect)
    table = MetricLatestRow.__table__.c
    updates: dict[str, ColumnElement[Any]] = {
        "value": excluded.value,
        "step": excluded.step,
        "timestamp_ms": excluded.timestamp_ms,
        "count": table.count + excluded.count,
        # NULL (all NaN so far) on either side leaves the other bound
        "min_value": least(
            func.coalesce(table.min_value, excluded.min_value),
            func.coalesce(excluded.min_value, table.min_value),
        ),
        "max_value": greatest(
            func.coalesce(table.max_value, excluded.max_value),
            func.coalesce(excluded.max_value, table.max_value),
        ),
    }
    statement = statement.on_conflict_do_update(index_elements=["run_id", "name"], set_=updates)
    session.execute(statement, rows)
