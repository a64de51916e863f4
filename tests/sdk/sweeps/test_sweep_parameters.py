"""Parameter expressions, samplings on Optuna, and HyperDriveConfig's checks: azureml's
shapes, the values each expression gives a script, and the configurations Azure refuses."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import optuna
import pytest

from atelier import ScriptRunConfig
from atelier.core.errors import ValidationError
from atelier.sdk.sweeps.parameters import apply_arguments
from atelier.sdk.sweeps.sampling import sampling_from_dict
from atelier.train.hyperdrive import (
    BanditPolicy,
    BayesianParameterSampling,
    GridParameterSampling,
    HyperDriveConfig,
    HyperParameterSampling,
    MedianStoppingPolicy,
    PrimaryMetricGoal,
    RandomParameterSampling,
    choice,
    lognormal,
    loguniform,
    normal,
    qlognormal,
    qloguniform,
    qnormal,
    quniform,
    randint,
    uniform,
)


def draw(sampling: HyperParameterSampling, count: int) -> list[dict[str, Any]]:
    """What ``count`` trials of a sweep would hand their script."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampling.sampler(0))
    distributions = sampling.distributions()
    space = {name: dist for name, (dist, _) in distributions.items()}
    drawn = []
    for _ in range(count):
        trial = study.ask(fixed_distributions=space)
        drawn.append({n: distributions[n][1](trial.params[n]) for n in distributions})
        study.tell(trial, 0.0)
    return drawn


def test_expressions_have_azureml_shapes() -> None:
    assert choice(1, 2, 3) == ["choice", [[1, 2, 3]]]
    assert choice([0.1, 0.2]) == ["choice", [[0.1, 0.2]]]
    assert choice(range(3)) == ["choice", [[0, 1, 2]]]
    assert randint(5) == ["randint", [5]]
    assert uniform(0.1, 0.5) == ["uniform", [0.1, 0.5]]
    assert quniform(0, 10, 2) == ["quniform", [0, 10, 2]]
    assert loguniform(-5, -1) == ["loguniform", [-5, -1]]
    assert qloguniform(0, 3, 1) == ["qloguniform", [0, 3, 1]]
    assert normal(0, 1) == ["normal", [0, 1]]
    assert qnormal(10, 2, 1) == ["qnormal", [10, 2, 1]]
    assert lognormal(0, 0.5) == ["lognormal", [0, 0.5]]
    assert qlognormal(0, 0.5, 0.1) == ["qlognormal", [0, 0.5, 0.1]]


def test_random_sampling_draws_every_expression_within_its_support() -> None:
    space = {
        "--c": choice("a", "b"),
        "--n": randint(4),
        "--u": uniform(0.5, 1.5),
        "--qu": quniform(0, 10, 2.5),
        "--lu": loguniform(math.log(0.001), math.log(0.1)),
        "--qlu": qloguniform(0, math.log(100), 5),
        "--no": normal(10, 2),
        "--qno": qnormal(10, 2, 1),
        "--ln": lognormal(0, 0.5),
        "--qln": qlognormal(0, 0.5, 0.25),
    }
    drawn = draw(RandomParameterSampling(space, properties={"seed": 3}), 200)
    assert {d["--c"] for d in drawn} == {"a", "b"}
    assert {d["--n"] for d in drawn} == {0, 1, 2, 3}
    assert all(0.5 <= d["--u"] <= 1.5 for d in drawn)
    assert {d["--qu"] for d in drawn} <= {0, 2.5, 5, 7.5, 10}
    assert all(0.001 <= d["--lu"] <= 0.1 for d in drawn)
    assert all(d["--qlu"] % 5 == 0 for d in drawn)
    normals = [d["--no"] for d in drawn]
    assert 9 < sum(normals) / len(normals) < 11
    assert min(normals) < 8 and max(normals) > 12  # spread like sigma=2, not a bounded range
    assert all(float(d["--qno"]).is_integer() for d in drawn)
    assert all(d["--ln"] > 0 for d in drawn)
    assert all(abs(d["--qln"] / 0.25 - round(d["--qln"] / 0.25)) < 1e-9 for d in drawn)


def test_a_seed_makes_samples_repeatable() -> None:
    space = {"--lr": uniform(0, 1)}
    first = draw(RandomParameterSampling(space, properties={"seed": 7}), 5)
    assert first == draw(RandomParameterSampling(space, properties={"seed": 7}), 5)
    assert first != draw(RandomParameterSampling(space, properties={"seed": 8}), 5)
    sobol = draw(RandomParameterSampling(space, properties={"seed": 7, "rule": "sobol"}), 4)
    assert len({d["--lr"] for d in sobol}) == 4


def test_grid_sampling_visits_every_combination_once() -> None:
    sampling = GridParameterSampling({"--a": choice(1, 2), "b": choice("x", "y", "z")})
    assert sampling.size() == 6
    drawn = draw(sampling, 6)
    assert sorted((d["--a"], d["b"]) for d in drawn) == sorted(
        (a, b) for a in (1, 2) for b in ("x", "y", "z")
    )


def test_bayesian_sampling_runs_on_tpe() -> None:
    sampling = BayesianParameterSampling({"--x": uniform(-1, 1), "--k": choice(1, 2)})
    drawn = draw(sampling, 12)
    assert all(-1 <= d["--x"] <= 1 for d in drawn)
    assert isinstance(sampling.sampler(0), optuna.samplers.TPESampler)


def test_samplings_round_trip_through_their_stored_form() -> None:
    sampling = RandomParameterSampling({"--lr": loguniform(-3, 0)}, properties={"seed": 1})
    again = sampling_from_dict(sampling.to_dict())
    assert type(again) is RandomParameterSampling
    assert again.to_dict() == sampling.to_dict()


def test_parameter_names_reach_the_script_as_flags() -> None:
    assert apply_arguments(["--lr", 1, "--data", "x"], {"lr": 0.5}) == [
        "--lr",
        "0.5",
        "--data",
        "x",
    ]
    assert apply_arguments(["--data", "x"], {"--lr": 0.5}) == ["--data", "x", "--lr", "0.5"]
    assert apply_arguments([], {"flag": True}) == ["--flag", "True"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (choice, "at least one option"),
        (lambda: choice([{"a": 1}]), "choice options must be"),
        (lambda: randint(0), "randint: upper must be a whole number >= 1"),
        (lambda: uniform(1, 1), "min_value must be below max_value"),
        (lambda: uniform("a", 2), "min_value must be a finite number"),
        (lambda: normal(0, 0), "sigma must be > 0"),
        (lambda: quniform(0, 1, 0), "q must be > 0"),
        (lambda: RandomParameterSampling({}), "non-empty dict"),
        (lambda: RandomParameterSampling({"--x": ["beta", [1, 2]]}), "unknown parameter expr"),
        (lambda: RandomParameterSampling({"--x": ["uniform", [1]]}), "uniform takes min_value"),
        (lambda: RandomParameterSampling({"--x": 3}), "is not a parameter expression"),
        (lambda: RandomParameterSampling({"x": choice(1), "--x": choice(2)}), "given twice"),
        (lambda: RandomParameterSampling({"a b": choice(1)}), "must be a script argument"),
        (lambda: GridParameterSampling({"--x": uniform(0, 1)}), "does not support uniform"),
        (lambda: BayesianParameterSampling({"--x": normal(0, 1)}), "does not support normal"),
        (lambda: RandomParameterSampling({"--x": choice(1)}, {"seed": "a"}), "seed"),
    ],
)
def test_bad_parameter_spaces_are_refused(build: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()


def _config(tmp_path: Path, **kwargs: Any) -> HyperDriveConfig:
    (tmp_path / "train.py").write_text("print('hi')\n")
    settings: dict[str, Any] = {
        "run_config": ScriptRunConfig(source_directory=tmp_path, script="train.py"),
        "hyperparameter_sampling": RandomParameterSampling({"--lr": uniform(0, 1)}),
        "primary_metric_name": "accuracy",
        "primary_metric_goal": PrimaryMetricGoal.MAXIMIZE,
        "max_total_runs": 4,
    }
    settings.update(kwargs)
    return HyperDriveConfig(**settings)


def test_hyperdrive_config_keeps_azureml_defaults(tmp_path: Path) -> None:
    config = _config(tmp_path, primary_metric_goal="minimize")
    assert config.primary_metric_goal is PrimaryMetricGoal.MINIMIZE
    assert config.max_duration_minutes == 10080
    assert config.max_concurrent_runs is None
    assert type(config.policy).__name__ == "NoTerminationPolicy"
    assert config.to_dict()["sampling"]["name"] == "RANDOM"


def test_bayesian_sampling_refuses_a_policy_and_warns_on_a_small_budget(tmp_path: Path) -> None:
    bayesian = BayesianParameterSampling({"--lr": uniform(0, 1), "--k": choice(1, 2)})
    with pytest.raises(ValidationError, match="Bayesian sampling does not support early"):
        _config(tmp_path, hyperparameter_sampling=bayesian, policy=MedianStoppingPolicy())
    with pytest.warns(UserWarning, match="max_total_runs >= 20 x the number of parameters"):
        _config(tmp_path, hyperparameter_sampling=bayesian, max_total_runs=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _config(tmp_path, hyperparameter_sampling=bayesian, max_total_runs=40)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_config": None}, "needs run_config=ScriptRunConfig"),
        ({"hyperparameter_sampling": {"--lr": [0, 1]}}, "hyperparameter_sampling must be"),
        ({"primary_metric_name": ""}, "primary_metric_name must name"),
        ({"primary_metric_goal": "up"}, "must be PrimaryMetricGoal.MAXIMIZE or MINIMIZE"),
        ({"max_total_runs": 0}, "max_total_runs must be a whole number >= 1"),
        ({"max_total_runs": 5000}, "max_total_runs must be at most 1000"),
        ({"max_concurrent_runs": 0}, "max_concurrent_runs must be"),
        ({"max_duration_minutes": 0}, "max_duration_minutes must be"),
        ({"policy": "bandit"}, "policy must be a BanditPolicy"),
        ({"estimator": object()}, "estimators and pipelines are not swept"),
        ({"resume_from": [3]}, "resume_from takes runs"),
    ],
)
def test_bad_hyperdrive_configs_are_refused(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        _config(tmp_path, **kwargs)


def test_policy_is_kept(tmp_path: Path) -> None:
    config = _config(tmp_path, policy=BanditPolicy(slack_factor=0.2))
    assert config.policy.to_dict()["name"] == "Bandit"


def test_every_path_exports_the_same_ten_expressions() -> None:
    from atelier.azureml.train.hyperdrive import parameter_expressions
    from atelier.sdk import sweeps
    from atelier.sdk.sweeps import parameters

    expressions = {name for name, _ in parameters.EXPRESSION_ARITY.items()}
    assert set(parameter_expressions.__all__) == expressions == set(parameters.__all__)
    assert expressions <= set(sweeps.__all__)
    for name in expressions:
        assert getattr(parameter_expressions, name) is getattr(sweeps, name)


def test_a_sweep_without_optuna_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from atelier import Experiment, MissingExtraError, Workspace

    ws = Workspace.create("lab", home=str(tmp_path / "home"))
    config = _config(tmp_path)
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna now fails
    with pytest.raises(MissingExtraError, match=r"pip install 'atelier-ml\[sweep\]'"):
        Experiment(ws, "sweep").submit(config)
    assert Experiment(ws, "sweep").get_runs_dataframe().empty  # nothing was recorded
