"""``atelier sweep submit | list | show | cancel | resume``: a real sweep on local compute,
as a shell sees it, and the sweep files it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # a sweep runs real scripts

TRAIN = """
    import argparse
    from atelier import Run
    parser = argparse.ArgumentParser()
    parser.add_argument("--c", type=float)
    parser.add_argument("--kernel")
    args = parser.parse_args()
    score = args.c * (2 if args.kernel == "rbf" else 1)
    Run.get_context().log("accuracy", score)
"""

SWEEP = """
    experiment: tune
    source_dir: src
    script: train.py
    sampling: grid
    parameters:
      --c: {choice: [0.5, 1.0]}
      kernel: {choice: [linear, rbf]}
    policy:
      bandit: {slack_factor: 0.5, evaluation_interval: 1}
    primary_metric: {name: accuracy, goal: maximize}
    max_total_runs: 3
    max_concurrent_runs: 2
"""


@pytest.fixture
def sweep_file(atelier: Atelier, tmp_path: Path) -> Path:
    assert atelier("workspace", "create", "lab").code == 0
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(textwrap.dedent(TRAIN))
    path = tmp_path / "sweep.yml"
    path.write_text(textwrap.dedent(SWEEP))
    return path


def test_submit_list_show_a_sweep(atelier: Atelier, sweep_file: Path) -> None:
    result = atelier("sweep", "submit", "-f", str(sweep_file), "-w", "lab", "-o", "json")
    outcome = result.json()
    assert outcome["status"] == "Completed"
    assert len(outcome["trials"]) == 3
    scores = [t["best_primary_metric"] for t in outcome["trials"]]
    assert scores == sorted(scores, reverse=True)
    assert outcome["best_run_id"] == outcome["trials"][0]["run_id"]
    run_id = outcome["run_id"]
    listed = atelier("sweep", "list", "-e", "tune", "-w", "lab", "-o", "json").json()
    assert [s["run_id"] for s in listed] == [run_id]
    assert listed[0]["trials"] == 3
    shown = atelier("sweep", "show", run_id, "-w", "lab")
    assert shown.code == 0
    assert "best accuracy first" in shown.stdout and "Completed" in shown.stdout
    assert_one_line_error(atelier("sweep", "cancel", run_id, "-w", "lab"), 4, "nothing to cancel")
    trial = outcome["trials"][0]["run_id"]
    assert_one_line_error(atelier("sweep", "show", trial, "-w", "lab"), 3, "not a sweep")


def test_cancel_a_sweep_from_the_cli(atelier: Atelier, sweep_file: Path) -> None:
    slow = sweep_file.parent / "src" / "train.py"
    slow.write_text(textwrap.dedent(TRAIN) + "import time\ntime.sleep(60)\n")
    run_id = atelier("sweep", "submit", "-f", str(sweep_file), "-w", "lab", "--no-follow").stdout
    run_id = run_id.strip()
    result = atelier("sweep", "cancel", run_id, "-w", "lab")
    assert result.code == 0, result.stderr
    assert "being canceled" in result.stdout
    assert atelier("sweep", "show", run_id, "-w", "lab", "-o", "json").json()["status"] in (
        "CancelRequested",
        "Canceled",
    )


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("experiment: x\n", "'script' is missing"),
        ("- a\n", "must hold a mapping"),
        ("experiment: [\n", "is not valid YAML"),
        (SWEEP.replace("grid", "sobol"), "sampling must be one of"),
        (SWEEP.replace("{choice: [0.5, 1.0]}", "{uniform: [0, 1]}"), "does not support uniform"),
        (SWEEP.replace("{choice: [0.5, 1.0]}", "{beta: [0, 1]}"), "unknown parameter expr"),
        (SWEEP.replace("bandit:", "sometimes:"), "unknown policy"),
        (SWEEP.replace("slack_factor", "slack"), "unexpected keyword argument 'slack'"),
        (SWEEP.replace("max_concurrent_runs: 2", "max_concurrent_runs: 64"), "more than"),
        (textwrap.dedent(SWEEP) + "colour: blue\n", "unknown setting(s) colour"),
    ],
)
def test_bad_sweep_files_are_refused(
    atelier: Atelier, sweep_file: Path, text: str, fragment: str
) -> None:
    sweep_file.write_text(textwrap.dedent(text))
    result = atelier("sweep", "submit", "-f", str(sweep_file), "-w", "lab")
    assert_one_line_error(result, 2, fragment)
    assert atelier("run", "list", "-e", "tune", "-w", "lab", "-o", "json").code != 0 or (
        atelier("run", "list", "-e", "tune", "-w", "lab", "-o", "json").json() == []
    )
