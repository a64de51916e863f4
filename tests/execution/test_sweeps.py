"""Sweeps end to end on local compute: trials as child runs through the supervisor, the
policy canceling a lagging trial, a metric never logged, cancel, and a controller killed
with SIGKILL and resumed without a trial run twice or lost."""

from __future__ import annotations

import json
import math
import os
import signal
import textwrap
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from atelier import Experiment, RunFailedError, ValidationError, Workspace
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.sdk.sweeps import _launch, _study
from atelier.sdk.sweeps._controller import Controller
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from atelier.train.hyperdrive import (
    BanditPolicy,
    GridParameterSampling,
    HyperDriveConfig,
    HyperDriveRun,
    PrimaryMetricGoal,
    choice,
)

TRAIN = """
    import argparse, math, time
    from atelier import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--quality", type=float, default=1.0)
    parser.add_argument("--reports", type=int, default=3)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--data", default="")
    args = parser.parse_args()
    run = Run.get_context()
    for step in range(args.reports):
        value = math.nan if args.quality < 0 else args.quality * (step + 1)
        run.log("accuracy", value)
        run.flush()
        time.sleep(args.pause)
    print("data is", args.data)
"""


def _source(tmp_path: Path, body: str = TRAIN) -> Path:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(textwrap.dedent(body))
    return folder


def _config(
    folder: Path, space: dict[str, Any], arguments: list[Any] | None = None, **kwargs: Any
) -> HyperDriveConfig:
    settings: dict[str, Any] = {
        "run_config": ScriptRunConfig(
            source_directory=folder, script="train.py", arguments=arguments or ["--data", "iris"]
        ),
        "hyperparameter_sampling": GridParameterSampling(space),
        "primary_metric_name": "accuracy",
        "primary_metric_goal": PrimaryMetricGoal.MAXIMIZE,
        "max_total_runs": 20,
        "max_concurrent_runs": 2,
    }
    settings.update(kwargs)
    return HyperDriveConfig(**settings)


def _study_trials(run: HyperDriveRun) -> list[Any]:
    env = run._backend.child_environment()
    study = optuna.load_study(study_name=f"atelier-sweep-{run.id}", storage=_study.storage_for(env))
    try:
        return study.get_trials()
    finally:
        _study.close_study(study)


@pytest.mark.slow  # runs a dozen trial scripts
@pytest.mark.one_database
def test_a_sweep_runs_every_trial_and_finds_the_best(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path)
    # quality -1 logs NaN (a diverged trial): the run completes with its NaN values kept, but
    # for the sampler it failed (no value) and it is never best; the sweep goes on
    config = _config(folder, {"--quality": choice(0.5, 2.0, -1.0), "reports": choice(2)})
    run = Experiment(ws, "sweep").submit(config, tags={"team": "a"})
    assert isinstance(run, HyperDriveRun)
    assert run.type == "hyperdrive"
    run.wait_for_completion()
    assert run.get_status() == "Completed"
    children = run.get_children()
    assert len(children) == 3  # the grid has 3 points, fewer than max_total_runs
    params = run.get_hyperparameters()
    assert all(c.get_status() == "Completed" for c in children)
    (diverged,) = [c for c in children if params[c.id]["--quality"] == -1.0]
    assert all(math.isnan(v) for v in diverged.get_metrics()["accuracy"])
    assert sorted((p["--quality"], p["reports"]) for p in params.values()) == sorted(
        (q, 2) for q in (0.5, 2.0, -1.0)
    )
    child = children[0]
    hyper = params[child.id]
    assert child.get_tags()["quality"] == str(hyper["--quality"])
    assert child.get_details()["runDefinition"]["arguments"] == [
        "--data", "iris", "--quality", str(hyper["--quality"]), "--reports", str(hyper["reports"])
    ]  # fmt: skip
    best = run.get_best_run_by_primary_metric()
    assert best is not None
    assert params[best.id] == {"--quality": 2.0, "reports": 2}
    ranked = run.get_children_sorted_by_primary_metric()
    assert [r["best_primary_metric"] for r in ranked] == [4.0, 1.0, None]  # NaN: no metric
    lowest_first = run.get_children_sorted_by_primary_metric(top=2, reverse=True)
    assert [r["best_primary_metric"] for r in lowest_first] == [1.0, 4.0]
    assert len(run.get_children_sorted_by_primary_metric(discard_no_metric=True)) == 2
    assert run.get_metrics()[best.id]["accuracy"] == [2.0, 4.0]
    # never more trials at once than max_concurrent_runs
    spans = [(c._refresh().started_ms or 0, c._record.ended_ms or 0) for c in children]
    assert max(sum(1 for s, e in spans if s <= t < e) for t, _ in spans) <= 2
    states = sorted(t.state.name for t in _study_trials(run))
    assert states == ["COMPLETE", "COMPLETE", "FAIL"]
    # a second sweep warm-starts from the first: its study begins with the scored trials
    again = _config(
        folder,
        {"--quality": choice(3.0), "reports": choice(1)},
        resume_from=run,
    )
    second = Experiment(ws, "sweep").submit(again)
    second.wait_for_completion()
    warm = [t for t in _study_trials(second) if t.user_attrs.get(_study.WARM_ATTRIBUTE)]
    assert warm == []  # the first sweep's points are not in this one's space
    third = Experiment(ws, "sweep").submit(
        _config(folder, {"--quality": choice(0.5, 2.0), "reports": choice(2)},
                resume_from=[run], max_total_runs=1)
    )  # fmt: skip
    third.wait_for_completion()
    warm = [t for t in _study_trials(third) if t.user_attrs.get(_study.WARM_ATTRIBUTE)]
    assert sorted(t.value for t in warm) == [1.0, 4.0]
    assert len(second.get_children()) == 1 and len(third.get_children()) == 1


@pytest.mark.slow  # runs trial scripts
@pytest.mark.one_database
def test_bandit_cancels_a_trial_that_lags_the_best(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path)
    # the weak trial keeps reporting long after the strong one has set the bar
    config = _config(
        folder,
        {"--quality": choice(1.0, 0.1)},
        arguments=["--reports", 60, "--pause", 0.25],
        policy=BanditPolicy(slack_factor=0.2),
        max_total_runs=2,
    )
    run = Experiment(ws, "bandit").submit(config)
    run.wait_for_completion()
    outcome = {
        json.loads(c.get_properties()["hyperparameters"])["--quality"]: c
        for c in run.get_children()
    }
    weak = outcome[0.1]
    assert weak.get_status() == "Canceled"
    assert weak.get_properties()["hyperdrive.canceled_by"].startswith("Bandit at interval ")
    best = run.get_best_run_by_primary_metric(include_canceled=False)
    assert best is not None and best.id == outcome[1.0].id


@pytest.mark.one_database
def test_a_primary_metric_never_logged_fails_the_sweep(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path, "print('no metrics here')\n")
    config = _config(folder, {"--a": choice(1, 2, 3, 4)}, max_concurrent_runs=1)
    run = Experiment(ws, "nometric").submit(config)
    with pytest.raises(RunFailedError, match="without logging the primary metric 'accuracy'"):
        run.wait_for_completion()
    assert run.get_details()["error"]["code"] == "PrimaryMetricNotLogged"
    assert len(run.get_children()) < 4
    assert all(c._refresh().status in TERMINAL_STATUSES for c in run.get_children())


def test_bad_submissions_leave_nothing_behind(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path)
    with pytest.raises(ValidationError, match="more than compute target 'local' runs at once"):
        Experiment(ws, "bad").submit(_config(folder, {"--a": choice(1)}, max_concurrent_runs=99))
    assert list(Experiment(ws, "bad").get_runs()) == []


def _poll(check: Any, what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow  # runs four trials one at a time
def test_a_killed_controller_resumes_without_running_a_trial_twice(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = _source(tmp_path)
    # each trial lasts at least 1.5 s: the sweep is still going when its second trial has
    # started and the controller is killed (quick trials on a loaded machine could all
    # end before the test gets to the kill)
    config = _config(
        folder, {"--quality": choice(1, 2, 3, 4)}, ["--pause", 0.5], max_concurrent_runs=1
    )
    run = Experiment(ws, "resume").submit(config)
    pid = _poll(lambda: _launch.controller_pid(run._backend, run.id), "the controller")
    _poll(lambda: len(run.get_children()) >= 2, "two trials")
    os.kill(pid, signal.SIGKILL)
    _poll(lambda: not _launch.controller_alive(run._backend, run.id), "the lock to be free")
    # as if it had died between asking the study for a trial and recording its run
    env = run._backend.child_environment()
    study = _study.open_study(
        env,
        run.id,
        True,
        sampler=config.hyperparameter_sampling.sampler(
            9, run._record.definition["hyperdrive"]["seed"]
        ),
    )
    orphan = study.ask(
        fixed_distributions={
            "--quality": optuna.distributions.CategoricalDistribution([1, 2, 3, 4])
        }
    )
    # and as if it had died inside study.ask: a trial created, its parameters not yet set
    bare = study._storage.create_new_trial(study._study_id)
    bare_number = study._storage.get_trial_number_from_id(bare)
    _study.close_study(study)
    assert run._refresh().status.value == "Running"
    run.wait_for_completion()  # finds no controller and resumes the sweep
    children = run.get_children()
    numbers = [int(c.get_properties()[_study.TRIAL_PROPERTY]) for c in children]
    assert sorted(numbers) == list(range(len(numbers)))  # each trial ran once, none lost
    assert orphan.number in numbers
    assert bare_number in numbers
    assert all(c.get_status() == "Completed" for c in children)
    values = [json.loads(c.get_properties()["hyperparameters"])["--quality"] for c in children]
    assert set(values) == {1, 2, 3, 4}
    assert all(t.state.name == "COMPLETE" for t in _study_trials(run))


@pytest.mark.one_database
def test_cancel_stops_the_sweep_and_its_running_trials(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path)
    config = _config(
        folder,
        {"--quality": choice(1, 2, 3)},
        arguments=["--reports", 400, "--pause", 0.05],
        max_concurrent_runs=1,
    )
    # as a pipeline step will: the sweep as the child of a given run
    pipeline_run = Experiment(ws, "cancel").start_logging()
    run = config._submit_to(Experiment(ws, "cancel"), None, _parent_run_id=pipeline_run.id)
    assert run.parent is not None and run.parent.id == pipeline_run.id
    _poll(lambda: any(c.get_status() == "Running" for c in run.get_children()), "a trial")
    assert run.cancel() is True
    with pytest.raises(RunFailedError, match="Canceled"):
        run.wait_for_completion()
    assert {c.get_status() for c in run.get_children()} == {"Canceled"}
    assert len(run.get_children()) == 1
    pipeline_run.complete()


@pytest.mark.one_database
def test_max_duration_cancels_the_trials_still_running(ws: Workspace, tmp_path: Path) -> None:
    folder = _source(tmp_path)
    config = _config(
        folder,
        {"--quality": choice(1, 2, 3)},
        arguments=["--reports", 400, "--pause", 0.05],
        max_concurrent_runs=1,
        max_duration_minutes=1,
    )
    run = Experiment(ws, "deadline").submit(config)
    pid = _poll(lambda: _launch.controller_pid(run._backend, run.id), "the controller")
    _poll(lambda: any(c.get_status() == "Running" for c in run.get_children()), "a trial")
    os.kill(pid, signal.SIGKILL)
    _poll(lambda: not _launch.controller_alive(run._backend, run.id), "the lock to be free")
    # a controller in this process, whose minute is up at once
    controller = Controller(run._backend, ws.name, run.id)
    controller.deadline_ms = now_ms()
    assert controller.drive() == RunStatus.COMPLETED
    assert run.get_properties()["hyperdrive.stop_reason"] == "max_duration_minutes reached"
    assert [c.get_status() for c in run.get_children()] == ["Canceled"]
