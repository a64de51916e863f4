from __future__ import annotations

import pytest

from atelier import Experiment, Run, ValidationError, Workspace


def _runs(exp: Experiment) -> list[Run]:
    made = []
    for i, (acc, kind) in enumerate([(0.7, "a"), (0.9, "b"), (0.8, "a"), (None, "b")]):
        run = exp.start_logging(tags={"kind": kind})
        run.add_properties({"index": i})
        if acc is not None:
            run.log("accuracy", acc / 2)
            run.log("accuracy", acc)
        if i == 2:
            run.fail("broken")
        else:
            run.complete()
        made.append(run)
    return made


def test_list_filters_by_status_tags_and_properties(ws: Workspace) -> None:
    exp = Experiment(ws, "q")
    made = _runs(exp)
    assert Run.list(exp) == list(reversed(made))  # newest first
    assert Run.list(exp, status="Failed") == [made[2]]
    assert Run.list(exp, status=["Failed", "Completed"]) == list(reversed(made))
    assert Run.list(exp, tags={"kind": "a"}) == [made[2], made[0]]
    assert Run.list(exp, tags="kind") == list(reversed(made))
    assert Run.list(exp, properties={"index": "1"}) == [made[1]]
    assert list(exp.get_runs(tags={"kind": "b"})) == [made[3], made[1]]
    with pytest.raises(ValidationError, match="unknown status"):
        Run.list(exp, status="Done")


def test_order_by_latest_metric_and_best_run(ws: Workspace) -> None:
    exp = Experiment(ws, "q")
    made = _runs(exp)
    ordered = Run.list(exp, order_by="accuracy desc")
    assert ordered == [made[1], made[2], made[0], made[3]]  # no metric: last
    assert [r.latest_metrics.get("accuracy") for r in ordered] == [0.9, 0.8, 0.7, None]
    assert Run.list(exp, order_by=("accuracy", "asc"), top=2) == [made[0], made[2]]
    assert exp.get_best_run("accuracy") == made[1]
    assert exp.get_best_run("accuracy", goal="minimize") == made[0]
    with pytest.raises(ValidationError, match="no run logged a metric 'never-logged'"):
        exp.get_best_run("never-logged")
    with pytest.raises(ValidationError, match="logged metrics: accuracy"):
        Run.list(exp, order_by="accuracy descending")
    assert Experiment(ws, "empty").get_best_run("accuracy") is None
    with pytest.raises(ValidationError, match="goal"):
        exp.get_best_run("accuracy", goal="best")
    with pytest.raises(ValidationError, match="top"):
        Run.list(exp, top=0)


def test_children_are_listed_only_when_asked(ws: Workspace) -> None:
    exp = Experiment(ws, "q")
    parent = exp.start_logging()
    child = parent.child_run()
    assert Run.list(exp) == [parent]
    assert set(Run.list(exp, include_children=True)) == {parent, child}
    assert next(iter(exp.get_runs(include_children=True))) in (parent, child)


def test_runs_of_other_workspaces_are_invisible(ws: Workspace) -> None:
    other = Workspace.create(ws.name + "-other")
    run = Experiment(other, "q").start_logging()
    from atelier import NotFoundError

    with pytest.raises(NotFoundError):
        Run.get(ws, run.id)
    assert Run.list(Experiment(ws, "q")) == []
