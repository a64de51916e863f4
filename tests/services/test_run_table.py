"""The runs table's SQL on SQLite and PostgreSQL: filter, sort, paging, the column names,
experiment summaries, metric summaries and a thinned series."""

from __future__ import annotations

from pathlib import Path

import pytest

from atelier.core import run_filter
from atelier.services import metric_series, run_table, workspaces
from atelier.store.database import Database
from tests.helpers.studio_data import seed_runs


@pytest.fixture
def db(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if database == "postgresql":
        found = Database(request.getfixturevalue("private_postgres_url"))
    else:
        found = Database(f"sqlite:///{tmp_path / 't.db'}")
    found.ensure_schema()
    with found.session() as session:
        workspaces.create(session, "ws")
    request.addfinalizer(found.dispose)
    return found


def _page(
    db: Database, text: str, sort: run_table.Column, descending: bool, **kw: int
) -> list[str]:
    with db.session() as session:
        found = run_table.table_page(
            session,
            "ws",
            "e",
            clauses=run_filter.parse(text),
            sort=sort,
            descending=descending,
            offset=kw.get("offset", 0),
            limit=kw.get("limit", 50),
            columns=[("metrics", "accuracy"), ("params", "lr"), ("tags", "model")],
        )
    return [row.name for row in found.rows]


def test_filter_sort_and_page_in_the_database(db: Database) -> None:
    seed_runs(db, "ws", "e", 12, metric_names=3, param_names=3)
    by_accuracy = _page(db, "", ("metrics", "accuracy"), True, limit=3)
    assert by_accuracy == ["run-11", "run-10", "run-9"]
    assert _page(db, "", ("params", "lr"), False, limit=2) == ["run-0", "run-1"]
    assert _page(db, "", ("attributes", "number"), False, offset=10) == ["run-10", "run-11"]
    matched = _page(
        db, 'metrics.accuracy >= 0.5 and tags.model = "tree"', ("metrics", "loss"), False
    )
    assert matched == ["run-11", "run-9", "run-7"]
    assert _page(
        db, "params.lr ~ '0.1' and status = 'Completed'", ("attributes", "name"), False
    ) == [
        "run-1",
        "run-10",
        "run-11",
    ]
    assert _page(db, "metrics.nothing > 0", ("attributes", "created"), True) == []
    with db.session() as session:
        names = run_table.column_names(session, "ws", "e")
        summaries = run_table.experiment_summaries(session, "ws")
    assert names.metrics == ["accuracy", "loss", "m0"]
    assert names.params == ["lr", "p0", "p1"]
    assert names.tags == ["model"]
    assert [(s.name, s.runs) for s in summaries] == [("e", 12)]


def test_a_run_s_metrics_and_a_thinned_series(db: Database) -> None:
    seeded = seed_runs(db, "ws", "e", 1, points=500)
    with db.session() as session:
        found, total = run_table.metric_summaries(session, "ws", seeded.run_ids[0], limit=1)
        series = metric_series.chart_series(session, "ws", seeded.run_ids[0], "loss", 40)
    assert total == 2
    assert [m.name for m in found] == ["accuracy"]
    assert series["count"] == 500
    assert len(series["steps"]) <= 40


def test_runs_without_the_sorting_metric_come_last_across_pages(db: Database) -> None:
    from atelier.services import runs

    seed_runs(db, "ws", "e", 6)
    with db.session() as session:
        for name in ("bare-a", "bare-b", "bare-c"):
            runs.create(session, "ws", "e", display_name=name)
    sort = ("metrics", "accuracy")
    pages = [_page(db, "", sort, True, offset=offset, limit=4) for offset in (0, 4, 8, 12)]
    assert pages == [
        ["run-5", "run-4", "run-3", "run-2"],
        ["run-1", "run-0", "bare-c", "bare-b"],
        ["bare-a"],
        [],
    ]
    assert _page(db, "", sort, False, offset=6, limit=2) == ["bare-c", "bare-b"]
