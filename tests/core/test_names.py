from __future__ import annotations

import math

import numpy as np
import pytest

from atelier import ValidationError
from atelier.core.names import (
    check_experiment_name,
    check_metric_name,
    check_number,
    check_relative_path,
    check_run_id,
    check_workspace_name,
)


@pytest.mark.parametrize("name", ["ab", "demo", "my-ws_2", "A" * 63])
def test_valid_workspace_names(name: str) -> None:
    assert check_workspace_name(name) == name


@pytest.mark.parametrize("name", ["a", "", "-lead", "has space", "x/y", "A" * 64, None, 3])
def test_invalid_workspace_names_state_the_rule(name: object) -> None:
    with pytest.raises(ValidationError, match="letters, digits"):
        check_workspace_name(name)


@pytest.mark.parametrize("name", ["e", "iris", "exp_1-b"])
def test_valid_experiment_names(name: str) -> None:
    assert check_experiment_name(name) == name


@pytest.mark.parametrize("name", ["", "_x", "a.b", "a/b", "x" * 256])
def test_invalid_experiment_names(name: str) -> None:
    with pytest.raises(ValidationError, match="experiment name"):
        check_experiment_name(name)


@pytest.mark.parametrize("name", ["loss", "train/loss", "val acc", "a.b:c", "_x"])
def test_valid_metric_names(name: str) -> None:
    assert check_metric_name(name) == name


@pytest.mark.parametrize("name", ["", "/abs", ".hidden", "a..b", "bad\nname", "x" * 251, 5])
def test_invalid_metric_names(name: object) -> None:
    with pytest.raises(ValidationError, match="metric name"):
        check_metric_name(name)


@pytest.mark.parametrize("value", [1, 2.5, np.float32(0.5), np.int64(3), -0.0])
def test_numbers_are_accepted(value: object) -> None:
    assert check_number("m", value) == float(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_non_finite_numbers_are_valid_metrics_as_in_mlflow(value: float) -> None:
    checked = check_number("m", value)
    assert checked == value or (math.isnan(checked) and math.isnan(value))


@pytest.mark.parametrize("value", ["0.5", None, True, [1], {"a": 1}])
def test_wrong_types_are_refused(value: object) -> None:
    with pytest.raises(ValidationError, match="must be a number"):
        check_number("m", value)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a.txt", "a.txt"),
        ("outputs/model.pkl", "outputs/model.pkl"),
        ("./a//b", "a/b"),
        ("dir\\file", "dir/file"),
    ],
)
def test_relative_paths_are_normalized(raw: str, clean: str) -> None:
    assert check_relative_path(raw) == clean


@pytest.mark.parametrize("raw", ["../x", "a/../../b", "/etc/passwd", "C:/x", "", ".", "a/.."])
def test_escaping_paths_are_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        check_relative_path(raw)


def test_run_ids() -> None:
    assert check_run_id("iris_1_abc") == "iris_1_abc"
    with pytest.raises(ValidationError, match="run id"):
        check_run_id("../etc")
