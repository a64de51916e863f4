"""``AmlCompute``'s scale settings on Ray: a head started for a target runs Ray's autoscaler
with Atelier's node provider (worker nodes as local ``ray start`` processes) within
``min_nodes``/``max_nodes``, removing idle nodes after ``idle_seconds_before_scaledown``; a
cluster given by address without an autoscaler keeps them reported."""

from __future__ import annotations

import contextlib
import json
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from atelier import Experiment, Workspace
from atelier.core.errors import AtelierError, ComputeTargetException, ValidationError
from atelier.sdk.compute.targets import AmlCompute, ComputeTarget
from atelier.sdk.tracking.run import Run
from atelier.sdk.tracking.runconfig import ScriptRunConfig
from tests.helpers.cli import invoke

pytestmark = pytest.mark.one_database  # the database kind is incidental here
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

_WAIT_SECONDS = 240.0  # Ray's node start on a loaded 2-core machine


def _submit(ws: Workspace, tmp_path: Path, target: str) -> Run:
    folder = tmp_path / "src"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text(
        textwrap.dedent(
            """
            import os
            from atelier import Run
            # a worker node's processes carry its marker (ray_provision.NODE_MARKER)
            Run.get_context().log("node", float("ATELIER_RAY_NODE" in os.environ))
            print("ran", flush=True)
            """
        )
    )
    config = ScriptRunConfig(source_directory=folder, script="train.py", compute_target=target)
    return Experiment(ws, "scaling").submit(config)


def _workers(target: ComputeTarget) -> int:
    from atelier.execution.ray_cluster import node_counts

    counts = node_counts(str(target.config["address"]), timeout=5.0)
    assert counts is not None, "the head's dashboard did not answer"
    return counts["workers"]


def _until(what: str, check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + _WAIT_SECONDS
    while not check():
        assert time.monotonic() < deadline, f"not within {_WAIT_SECONDS:g} s: {what}"
        time.sleep(0.5)


@pytest.mark.slow  # a head and a worker node start
@sqlite_only
def test_a_started_cluster_scales_worker_nodes_within_its_settings(
    ws: Workspace, tmp_path: Path
) -> None:
    from atelier.execution.ray_provision import _marked, stop_local_head

    config = AmlCompute.provisioning_configuration(
        min_nodes=0,
        max_nodes=1,
        idle_seconds_before_scaledown=600,
        resources={"CPU": 1, "scale_test": 1},  # only a worker node offers it
    )
    target = ComputeTarget.create(ws, "scaling", config)
    try:
        assert target.config["autoscaler"] is True
        status = target.get_status()
        assert status.scaling_warning is None  # applied, nothing to report
        # min_nodes=0: the head alone, no worker node
        assert (status.current_node_count, _workers(target)) == (1, 0)

        # two runs at once, each needing a worker node: one node appears (max_nodes=1)
        target.update(max_concurrent_runs=2)
        runs = [_submit(ws, tmp_path, "scaling") for _ in range(2)]
        seen: list[int] = []

        def joined() -> bool:
            seen.append(_workers(target))
            return seen[-1] >= 1

        _until("a worker node joined for the runs", joined)
        for run in runs:
            details = run.wait_for_completion(timeout_seconds=_WAIT_SECONDS, raise_on_error=False)
            assert details["status"] == "Completed", details
            assert run.get_metrics()["node"] == 1.0  # it ran on the worker node
            seen.append(_workers(target))
        assert max(seen) == 1, seen  # never more than max_nodes
        status = target.get_status()
        assert status.current_node_count == status.target_node_count == 2
        shown = invoke(["compute", "show", "scaling", "-w", ws.name, "-o", "json"], cwd=tmp_path)
        assert shown.code == 0, shown
        assert json.loads(shown.stdout)["nodes"] == {"current": 2, "target": 2}

        # new settings apply to the running cluster: idle for 1 s now, the node goes away
        cluster = AmlCompute(ws, "scaling")
        cluster.update(idle_seconds_before_scaledown=1)
        assert cluster.config["idle_seconds_before_scaledown"] == 1
        written = json.loads(Path(cluster.config["autoscaling_config"]).read_text())
        worker = written["available_node_types"]["atelier.worker"]
        assert (worker["min_workers"], worker["max_workers"]) == (0, 1)
        _until("the idle worker node was removed", lambda: _workers(target) == 0)
        assert target.get_status().current_node_count == 1
    finally:
        # deleting the target stops its head and the nodes its autoscaler launched
        with contextlib.suppress(AtelierError):  # refused while a run is unfinished
            target.delete()
        stop_local_head(target.config)
    assert _marked(target.config["head_token"]) == []


@sqlite_only
def test_scale_settings_of_a_cluster_without_an_autoscaler_stay_reported(
    ws: Workspace, ray_head: dict[str, Any]
) -> None:
    config = AmlCompute.provisioning_configuration(address=ray_head["address"])
    target = ComputeTarget.create(ws, "fixed", config)
    assert target.get_status().scaling_warning is None  # nothing asked beyond the defaults
    target.update(min_nodes=1, max_nodes=3, idle_seconds_before_scaledown=30)
    warning = target.get_status().scaling_warning or ""
    assert "no autoscaler" in warning
    assert "min_nodes=1, max_nodes=3, idle_seconds_before_scaledown=30 not applied" in warning
    assert target.config["max_nodes"] == 3


@sqlite_only
def test_bad_scale_updates_are_refused(ws: Workspace) -> None:
    with pytest.raises(ComputeTargetException, match="AmlCompute"):
        ComputeTarget(ws, "local").update(min_nodes=1)
    with pytest.raises(ValidationError, match="min_nodes <= max_nodes"):
        AmlCompute.provisioning_configuration(min_nodes=3, max_nodes=2)


def test_the_autoscaler_config_maps_the_scale_settings(tmp_path: Path) -> None:
    from ray.autoscaler._private.util import prepare_config, validate_config

    from atelier.execution.ray_autoscaler import LocalNodeProvider
    from atelier.execution.ray_provision import autoscaling_config

    settings = {"min_nodes": 1, "max_nodes": 3, "resources": {"CPU": 2, "gpu_box": 0.5}}
    written = json.loads(autoscaling_config(settings, "127.0.0.1:1", tmp_path).read_text())
    validate_config(prepare_config(written))  # what Ray's monitor checks before it starts
    assert written["idle_timeout_minutes"] == 2.0  # azureml's 120 s when not given
    assert written["max_workers"] == 3
    assert written["available_node_types"]["atelier.worker"] == {
        "resources": {"CPU": 2.0, "gpu_box": 1.0},  # what one run asks, in whole units
        "node_config": {},
        "min_workers": 1,
        "max_workers": 3,
    }
    module, name = written["provider"]["module"].rsplit(".", 1)
    assert f"{module}.{name}" == f"{LocalNodeProvider.__module__}.LocalNodeProvider"
    seconds = {**settings, "idle_seconds_before_scaledown": 30}
    rewritten = json.loads(autoscaling_config(seconds, "127.0.0.1:1", tmp_path).read_text())
    assert rewritten["idle_timeout_minutes"] == 0.5
