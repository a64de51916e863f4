from __future__ import annotations

import pytest

from atelier import (
    AlreadyExistsError,
    ConflictError,
    Experiment,
    InvalidStateError,
    Run,
    RunStatus,
    ValidationError,
    Workspace,
)


def test_start_logging_runs_and_context_manager_completes(ws: Workspace) -> None:
    exp = Experiment(ws, "life")
    with exp.start_logging(display_name="first") as run:
        assert run.get_status() == "Running"
        run.log("loss", 0.5)
    assert run.get_status() == "Completed"
    details = run.get_details()
    assert details["status"] == "Completed"
    assert details["displayName"] == "first"
    assert details["startTimeUtc"] is not None
    assert details["endTimeUtc"] is not None
    assert "error" not in details


def test_context_manager_fails_the_run_on_exception(ws: Workspace) -> None:
    exp = Experiment(ws, "life")
    with pytest.raises(ZeroDivisionError), exp.start_logging() as run:
        run.log("before", 1)
        _ = 1 / 0
    details = run.get_details()
    assert details["status"] == "Failed"
    assert "ZeroDivisionError" in details["error"]["message"]
    assert "Traceback" in details["error"]["details"]
    assert run.get_metrics() == {"before": 1.0}


def test_fail_with_code_and_cancel(ws: Workspace) -> None:
    exp = Experiment(ws, "life")
    run = exp.start_logging()
    run.fail(error_details="data was empty", error_code="EmptyData")
    assert run.get_details()["error"] == {"code": "EmptyData", "message": "data was empty"}
    other = exp.start_logging()
    other.cancel()
    assert other.get_status() == "Canceled"
    with pytest.raises(InvalidStateError, match="nothing to cancel"):
        other.cancel()


def test_ended_runs_refuse_logging_and_contrary_endings(ws: Workspace) -> None:
    run = Experiment(ws, "life").start_logging()
    run.complete()
    with pytest.raises(InvalidStateError, match="no longer accepts metrics"):
        run.log("late", 1)
    with pytest.raises(InvalidStateError, match="cannot become Failed"):
        run.fail()
    run.complete()  # repeating the same ending is harmless
    assert run.get_status() == "Completed"


def test_a_run_completed_elsewhere_refuses_buffered_points(ws: Workspace) -> None:
    run = Experiment(ws, "life").start_logging()
    same = Run.get(ws, run.id)
    same.complete()
    run.log("late", 1.0)  # this object does not know yet; the write is refused
    with pytest.raises(InvalidStateError, match="Completed"):
        run.flush()
    assert same.get_metrics() == {}


def test_children(ws: Workspace) -> None:
    parent = Experiment(ws, "family").start_logging()
    with parent.child_run("fold-1") as child:
        child.log("acc", 0.8)
        with child.child_run("inner") as grandchild:
            grandchild.log("acc", 0.7)
    made = parent.create_children(count=2)
    assert [c.get_status() for c in made] == ["NotStarted", "NotStarted"]
    with made[0]:
        made[0].log("acc", 0.9)
    made[1].start()
    made[1].complete()
    assert len(parent.get_children()) == 3
    assert len(parent.get_children(recursive=True)) == 4
    assert grandchild.parent == child
    assert child.parent == parent
    assert parent.parent is None
    tagged = parent.create_children(tag_key="fold", tag_values=["a", "b"])
    assert [c.get_tags() for c in tagged] == [{"fold": "a"}, {"fold": "b"}]
    assert parent.get_children(tags={"fold": "b"}) == [tagged[1]]
    assert len(parent.get_children(status="Completed")) == 3
    nested = parent.get_metrics(recursive=True)
    assert nested[grandchild.id] == {"acc": 0.7}
    assert nested[parent.id] == {}
    with pytest.raises(ValidationError, match="count"):
        parent.create_children()
    with pytest.raises(AlreadyExistsError):
        parent.child_run(run_id=child.id)


def test_cancel_cancels_unfinished_children(ws: Workspace) -> None:
    parent = Experiment(ws, "family").start_logging()
    running = parent.child_run()
    done = parent.child_run()
    done.complete()
    parent.cancel()
    assert running.get_status() == "Canceled"
    assert done.get_status() == "Completed"


def test_properties_are_immutable_tags_are_not(ws: Workspace) -> None:
    run = Experiment(ws, "props").start_logging()
    run.add_properties({"dataset": "v1", "seed": 7})
    run.add_properties({"dataset": "v1"})  # same value again is fine
    with pytest.raises(ConflictError, match="immutable"):
        run.add_properties({"dataset": "v2"})
    assert run.get_properties()["dataset"] == "v1"
    assert run.get_properties()["seed"] == "7"
    run.tag("stage", "dev")
    run.tag("stage", "prod")
    run.set_tags({"a": 1, "b": None})
    assert run.get_tags() == {"stage": "prod", "a": "1", "b": ""}
    run.remove_tags(["a", "b"])
    assert run.get_tags() == {"stage": "prod"}
    run.complete()
    run.tag("reviewed", "yes")  # tags may still be set on an ended run
    assert run.tags["reviewed"] == "yes"
    with pytest.raises(ValidationError, match="tag key"):
        run.tag("", "x")
    with pytest.raises(ValidationError, match="must be a string"):
        run.tag("k", [1, 2])  # type: ignore[arg-type]


def test_run_constructor_and_get_find_existing_runs(ws: Workspace) -> None:
    exp = Experiment(ws, "lookup")
    run = exp.start_logging()
    assert Run(exp, run.id) == run
    assert Run.get(ws, run.id).experiment == exp
    assert run.number == 1
    assert exp.start_logging().number == 2
    assert RunStatus(run.get_status()) is RunStatus.RUNNING


def test_state_machine_refuses_going_back(ws: Workspace) -> None:
    from atelier.client.registry import backend_for

    run = Experiment(ws, "sm").start_logging()
    backend = backend_for()
    backend.runs.transition(ws.name, run.id, RunStatus.FINALIZING)
    with pytest.raises(InvalidStateError, match="Finalizing and cannot become Running"):
        backend.runs.transition(ws.name, run.id, RunStatus.RUNNING)
    with pytest.raises(ValidationError, match="not a run status"):
        backend.runs.transition(ws.name, run.id, "Done")  # type: ignore[arg-type]
