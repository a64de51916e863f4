"""The runs listing ordered by a metric keeps its plan on PostgreSQL tables nobody has
analyzed yet (an experiment growing under load): without statistics the planner once
joined every run to a scan of the workspace's experiments (a nested loop discarding
runs x experiments rows: 4.7 s at 770 runs beside 700 experiments)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, text

from atelier.core.records import RunQuery
from atelier.services import run_queries
from atelier.store.database import Database
from tests.conftest import _create_postgres_database, _drop_postgres_database

RUNS = 150  # in the experiment listed
OTHERS = 150  # other experiments of the workspace, one run each
METRICS = 4


@pytest.fixture(scope="module")
def unanalyzed() -> Iterator[Database]:
    """A database of this module's own whose tables were filled and never analyzed."""
    url = _create_postgres_database("atelier_plans")
    database = Database(url)
    database.ensure_schema()
    with database.engine.begin() as conn:
        for table in ("workspaces", "experiments", "runs", "metric_latest", "run_tags"):
            conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        conn.execute(
            text(
                "INSERT INTO workspaces (id, name, description, location, tags, created_ms) "
                "VALUES ('w', 'team', '', '', '{}', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO experiments (id, workspace_id, name, archived, tags, run_count, "
                "created_ms) SELECT 'e' || g, 'w', 'exp' || g, false, '{}', 0, 0 "
                "FROM generate_series(0, :others) g"
            ),
            {"others": OTHERS},
        )
        conn.execute(
            text(
                "INSERT INTO runs (run_id, experiment_id, number, display_name, run_type, "
                "target, status, created_ms) SELECT 'r' || g, CASE WHEN g < :runs THEN 'e0' "
                "ELSE 'e' || (g - :runs + 1) END, g, '', 'interactive', 'local', 'Completed', g "
                "FROM generate_series(0, :total - 1) g"
            ),
            {"runs": RUNS, "total": RUNS + OTHERS},
        )
        conn.execute(
            text(
                "INSERT INTO metric_latest (run_id, name, value, step, timestamp_ms, count, "
                "min_value, max_value, experiment_id) SELECT 'r' || g, 'm' || k, "
                "(g * 7919 % 1000) / 1000.0, "
                "1, 1, 1, 0, 1, CASE WHEN g < :runs THEN 'e0' ELSE 'e' || (g - :runs + 1) END "
                "FROM generate_series(0, :total - 1) g, "
                "generate_series(1, :metrics) k"
            ),
            {"runs": RUNS, "total": RUNS + OTHERS, "metrics": METRICS},
        )
    with database.engine.connect() as conn:
        analyzed = conn.execute(
            text("SELECT count(*) FROM pg_stats WHERE tablename IN ('runs', 'metric_latest')")
        ).scalar()
    assert analyzed == 0  # no statistics: the planner works from its defaults
    yield database
    database.dispose()
    _drop_postgres_database(url)


def _plans(database: Database, statements: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    url = database.url.replace("postgresql+psycopg://", "postgresql://")
    found = []
    with psycopg.connect(url) as conn:
        for statement, parameters in statements:
            explained = conn.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters
            ).fetchone()
            assert explained is not None
            plan = explained[0]
            found.append(plan[0]["Plan"] if isinstance(plan, list) else json.loads(plan)[0]["Plan"])
    return found


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _explained_listing(
    database: Database, query: RunQuery
) -> tuple[list[Any], list[dict[str, Any]]]:
    """The runs ``list_runs`` returns for "exp0", and the plans of the queries it ran."""
    statements: list[tuple[str, Any]] = []

    def grab(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(database.engine, "before_cursor_execute", grab)
    try:
        with database.session() as session:
            found = run_queries.list_runs(session, "team", "exp0", query)
    finally:
        event.remove(database.engine, "before_cursor_execute", grab)
    return found, _plans(database, statements)


def _thrown_away(plans: list[dict[str, Any]]) -> list[tuple[str, Any, int]]:
    """Each plan step that read and threw away more rows than the experiment holds."""
    wasteful = []
    for plan in plans:
        for node in _nodes(plan):
            removed = node.get("Rows Removed by Filter", 0)
            removed += node.get("Rows Removed by Join Filter", 0)
            total = removed * node.get("Actual Loops", 1)
            if total > RUNS:
                wasteful.append((node["Node Type"], node.get("Index Name"), total))
    return wasteful


def _value(run: Any) -> int:
    return int(run.run_id[1:]) * 7919 % 1000


def test_top_runs_by_a_metric_read_one_range_of_the_experiments_index(
    unanalyzed: Database,
) -> None:
    top, plans = _explained_listing(unanalyzed, RunQuery(order_by_metric="m2", limit=10))
    assert len(top) == 10
    assert {run.experiment_name for run in top} == {"exp0"}
    assert [_value(run) for run in top] == sorted((_value(run) for run in top), reverse=True)
    # every row a step reads and throws away is bounded by the experiment's runs, whatever
    # the workspace holds beside them (the old plan: runs x experiments)
    assert _thrown_away(plans) == []
    ordering = [
        p for p in plans if any(n.get("Relation Name") == "metric_latest" for n in _nodes(p))
    ]
    indexes = {n.get("Index Name") for p in ordering for n in _nodes(p)}
    assert "ix_metric_latest_experiment_name_value" in indexes
    assert "pk_runs" in indexes


def test_every_run_by_a_metric_and_newest_first_stay_within_the_experiment(
    unanalyzed: Database,
) -> None:
    every, plans = _explained_listing(unanalyzed, RunQuery(order_by_metric="m2", descending=False))
    assert len(every) == RUNS
    assert [_value(run) for run in every] == sorted(_value(run) for run in every)
    assert _thrown_away(plans) == []
    newest, plans = _explained_listing(unanalyzed, RunQuery(limit=5))
    assert [run.run_id for run in newest] == [f"r{n}" for n in range(RUNS - 1, RUNS - 6, -1)]
    assert _thrown_away(plans) == []
