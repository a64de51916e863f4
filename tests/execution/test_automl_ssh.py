"""AutoML iterations on an SSH target (``RemoteCompute``), against a real sshd on a
loopback port whose sessions have this test session's Python."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_iris

import atelier
from atelier import Experiment, Workspace
from atelier.azureml.train.automl import AutoMLConfig
from atelier.sdk.compute.targets import ComputeTarget, RemoteCompute
from tests.execution.sshd import SshServer

pytestmark = pytest.mark.one_database  # the database kind is incidental here


def _python_with_this_atelier(folder: Path) -> str:
    """The remote interpreter: this Python, importing the Atelier under test."""
    source = Path(atelier.__file__).resolve().parent.parent
    script = folder / "python-here"
    script.write_text(f'#!/bin/sh\nPYTHONPATH={source} exec {sys.executable} "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_iterations_run_over_ssh_on_the_target(
    ws: Workspace, sshd: SshServer, tmp_path: Path
) -> None:
    target = ComputeTarget.attach(
        ws,
        "box",
        RemoteCompute.attach_configuration(
            address=sshd.host,
            ssh_port=sshd.port,
            username=sshd.user,
            private_key_file=str(sshd.key),
        ),
    )
    # the machine's Python is this one; it imports the Atelier under test (a worktree's)
    config = {**target.config, "python": _python_with_this_atelier(tmp_path)}
    ws._backend.compute.update(ws.name, "box", config=config)
    sessions = sshd.log.read_text(errors="replace").count("Accepted publickey")
    iris = load_iris(as_frame=True).frame
    settings: dict[str, Any] = {
        "task": "classification",
        "training_data": iris,
        "label_column_name": "target",
        "iterations": 2,
        "n_cross_validations": 2,
        "allowed_models": ["LogisticRegression", "DecisionTree"],
        "max_concurrent_iterations": 2,
        "enable_stack_ensemble": False,
    }
    run = Experiment(ws, "on-ssh").submit(AutoMLConfig(**settings, compute_target="box"))
    assert run.get_status() == "Completed" and run.get_details()["target"] == "box"
    children = run.get_children()
    errors = [c.get_details().get("error") for c in children]
    assert [c.status for c in children] == ["Completed"] * 3, errors
    assert all(c.get_details()["target"] == "box" for c in children)
    _, model = run.get_output()
    features = iris.drop(columns="target")
    assert (model.predict(features) == iris["target"]).mean() > 0.9
    # one session copied the data, one each computed an iteration, one removed the data
    log = sshd.log.read_text(errors="replace")
    assert log.count("Accepted publickey") - sessions == 4
    assert list((sshd.home / ".atelier-remote" / "automl").iterdir()) == []
