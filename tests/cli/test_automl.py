"""``atelier automl submit | show``: an AutoML experiment from a YAML file, as a shell
sees it, and the files it refuses."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from sklearn.datasets import load_iris

from tests.helpers.cli import Atelier, assert_one_line_error

SPEC = """
    experiment: iris-automl
    task: classification
    training_data: iris.csv
    label_column_name: target
    primary_metric: accuracy
    iterations: 2
    n_cross_validations: 2
    allowed_models: [DecisionTree, LogisticRegression]
"""


@pytest.fixture
def spec_file(atelier: Atelier, tmp_path: Path) -> Path:
    assert atelier("workspace", "create", "lab").code == 0
    load_iris(as_frame=True).frame.to_csv(tmp_path / "iris.csv", index=False)
    path = tmp_path / "automl.yml"
    path.write_text(textwrap.dedent(SPEC))
    return path


def test_submit_and_show_an_automl_run(atelier: Atelier, spec_file: Path) -> None:
    result = atelier("automl", "submit", "-f", str(spec_file), "-w", "lab", "-o", "json")
    assert result.code == 0, result.stderr
    outcome = result.json()
    assert outcome["status"] == "Completed"
    algorithms = [row["algorithm"] for row in outcome["leaderboard"]]
    assert sorted(algorithms) == [
        "DecisionTree",
        "LogisticRegression",
        "StackEnsemble",
        "VotingEnsemble",
    ]
    scores = [row["score"] for row in outcome["leaderboard"]]
    assert scores == sorted(scores, reverse=True)
    assert outcome["best_run_id"] == outcome["leaderboard"][0]["run_id"]
    shown = atelier("automl", "show", outcome["run_id"], "-w", "lab")
    assert shown.code == 0
    assert "Leaderboard, best accuracy first" in shown.stdout
    assert "Class balancing detection" in shown.stdout
    child = outcome["leaderboard"][0]["run_id"]
    assert_one_line_error(atelier("automl", "show", child, "-w", "lab"), 3, "not an AutoML")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n", "must hold a mapping"),
        (SPEC.replace("experiment: iris-automl", ""), "must name its experiment"),
        (SPEC.replace("iris.csv", "missing.csv"), "does not exist"),
        (SPEC.replace("accuracy", "r2_score"), "does not fit task"),
        (textwrap.dedent(SPEC) + "colour: blue\n", "colour"),
    ],
)
def test_bad_automl_files_are_refused(
    atelier: Atelier, spec_file: Path, text: str, fragment: str
) -> None:
    spec_file.write_text(textwrap.dedent(text))
    result = atelier("automl", "submit", "-f", str(spec_file), "-w", "lab")
    assert result.code in (2, 3)
    assert_one_line_error(result, result.code, fragment)
