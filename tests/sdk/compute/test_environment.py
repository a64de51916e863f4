from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from atelier import NotFoundError, ValidationError, Workspace
from atelier.sdk.compute.conda_dependencies import CondaDependencies
from atelier.sdk.compute.environment import Environment


def _no_conda(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "conda" else real_which(name)
    )


def _sklearn_env(name: str = "sk") -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["scikit-learn>=1.4", "numpy"], python_version="3.11"
    )
    env.environment_variables = {"OMP_NUM_THREADS": "1"}
    return env


# --- specs ----------------------------------------------------------------------------
def test_new_environment_defaults() -> None:
    env = Environment("plain")
    assert env.version is None
    assert env.python.user_managed_dependencies is False
    assert env.python.interpreter_path is None
    assert env.docker.base_image == "python:3.11-slim"
    assert env.docker.enabled is False
    assert env.to_spec() == {
        "python_version": None,
        "pip": [],
        "conda_packages": [],
        "user_managed": False,
        "interpreter_path": None,
        "environment_variables": {},
        "base_image": "python:3.11-slim",
    }


def test_spec_round_trip() -> None:
    env = _sklearn_env()
    env.python.conda_dependencies.add_pip_package("numpy")  # a duplicate is kept once
    env.docker.base_image = "python:3.11"
    spec = env.to_spec()
    assert spec["pip"] == ["numpy", "scikit-learn>=1.4"]
    assert spec["python_version"] == "3.11"
    again = Environment.from_spec("sk", spec, version=3)
    assert again.version == "3"
    assert again.to_spec() == spec
    assert again.python.conda_dependencies.pip_packages == ["numpy", "scikit-learn>=1.4"]


def test_user_managed_spec() -> None:
    env = Environment("mine")
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = "/opt/py/bin/python"
    spec = env.to_spec()
    assert spec["user_managed"] is True
    assert spec["interpreter_path"] == "/opt/py/bin/python"
    assert Environment.from_spec("mine", spec).python.user_managed_dependencies is True


def test_bad_spec_values() -> None:
    env = Environment("vars")
    env.environment_variables = {"N": 3}  # type: ignore[dict-item]
    with pytest.raises(ValidationError, match="str"):
        env.to_spec()
    with pytest.raises(ValidationError, match="python version"):
        CondaDependencies.create(python_version="three")
    with pytest.raises(ValidationError, match="list of strings"):
        Environment.from_spec("x", {"pip": "numpy"})


def test_from_pip_requirements(tmp_path: Path) -> None:
    (tmp_path / "base.txt").write_text("six==1.16.0\n")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# training\n"
        "scikit-learn>=1.4  # the model\n"
        "-r base.txt\n"
        "\n"
        "pandas \\\n"
        "  ==2.2.2\n"
        "--extra-index-url https://example.org/simple\n"
    )
    env = Environment.from_pip_requirements("req", requirements)
    assert env.name == "req"
    assert env.to_spec()["pip"] == [
        "--extra-index-url https://example.org/simple",
        "pandas   ==2.2.2",
        "scikit-learn>=1.4",
        "six==1.16.0",
    ]
    with pytest.raises(NotFoundError, match="not found"):
        Environment.from_pip_requirements("req", tmp_path / "missing.txt")


CONDA_FILE = """
name: project_environment
channels: [conda-forge]
variables:
  MODE: train
dependencies:
  - python=3.11
  - pip
  - pip:
      - scikit-learn==1.5.0
      - pandas
"""


def test_from_conda_specification(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_conda(monkeypatch)
    path = tmp_path / "environment.yml"
    path.write_text(CONDA_FILE)
    env = Environment.from_conda_specification("conda-env", path)
    spec = env.to_spec()
    assert spec["python_version"] == "3.11"
    assert spec["pip"] == ["pandas", "scikit-learn==1.5.0"]
    assert spec["conda_packages"] == []
    assert spec["environment_variables"] == {"MODE": "train"}
    assert env.python.conda_dependencies.conda_channels == ["conda-forge"]
    written = yaml.safe_load(env.python.conda_dependencies.serialize_to_string())
    assert written["dependencies"][0] == "python=3.11"
    assert {"pip": ["scikit-learn==1.5.0", "pandas"]} in written["dependencies"]


def test_conda_only_packages_need_conda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "environment.yml"
    path.write_text("dependencies:\n  - python=3.11\n  - cudatoolkit=11.8\n  - pip:\n    - six\n")
    _no_conda(monkeypatch)
    with pytest.raises(
        ValidationError, match=r"conda-only packages cudatoolkit=11\.8.*needs conda"
    ):
        Environment.from_conda_specification("gpu", path)
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/opt/conda/bin/{name}")
    env = Environment.from_conda_specification("gpu", path)
    assert env.to_spec()["conda_packages"] == ["cudatoolkit=11.8"]
    assert env.to_spec()["pip"] == ["six"]


def test_conda_file_python_must_be_pinned_exactly(tmp_path: Path) -> None:
    path = tmp_path / "environment.yml"
    path.write_text("dependencies:\n  - python>=3.9\n")
    with pytest.raises(ValidationError, match=r"python=3\.11"):
        Environment.from_conda_specification("loose", path)


def test_conda_dependencies_round_trip_through_a_file(tmp_path: Path) -> None:
    deps = CondaDependencies.create(
        pip_packages=["torch==2.3.0"], conda_packages=["libgomp"], python_version="3.10"
    )
    deps.save(tmp_path / "env.yml")
    again = CondaDependencies._from_file(tmp_path / "env.yml")
    assert again == deps
    assert again.pip_packages == ["torch==2.3.0"]
    assert again.conda_packages == ["libgomp"]
    assert again.get_python_version() == "3.10"
    again.remove_pip_package("torch")
    assert again.pip_packages == []


# --- the workspace --------------------------------------------------------------------
def test_register_versions_by_spec(ws: Workspace) -> None:
    first = _sklearn_env().register(ws)
    assert first.version == "1"
    assert _sklearn_env().register(ws).version == "1"  # unchanged spec: same version
    changed = _sklearn_env()
    changed.python.conda_dependencies.add_pip_package("pandas")
    assert changed.register(ws).version == "2"
    assert first.version == "1"  # register returns a copy; the original is untouched
    unregistered = _sklearn_env()
    unregistered.register(ws)
    assert unregistered.version is None


def test_get_latest_and_by_version(ws: Workspace) -> None:
    _sklearn_env().register(ws)
    changed = _sklearn_env()
    changed.environment_variables["MODE"] = "fast"
    changed.register(ws)
    latest = Environment.get(ws, "sk")
    assert latest.version == "2"
    assert latest.environment_variables == {"MODE": "fast", "OMP_NUM_THREADS": "1"}
    old = Environment.get(ws, "sk", version="1")
    assert old.to_spec() == _sklearn_env().to_spec()
    assert Environment.get(ws, "sk", version=2).version == "2"


def test_list_gives_latest_of_each(ws: Workspace) -> None:
    assert all(name.startswith("AzureML-") for name in Environment.list(ws))  # curated only
    _sklearn_env("b-env").register(ws)
    Environment("a-env").register(ws)
    changed = _sklearn_env("b-env")
    changed.python.conda_dependencies.add_pip_package("six")
    changed.register(ws)
    found = Environment.list(ws)
    assert [name for name in found if not name.startswith("AzureML-")] == ["a-env", "b-env"]
    assert found["b-env"].version == "2"
    assert "six" in found["b-env"].to_spec()["pip"]


def test_not_found(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match=r"Environment\('nope'\)\.register\(ws\)"):
        Environment.get(ws, "nope")
    Environment("there").register(ws)
    with pytest.raises(NotFoundError, match=r"no version 7.*latest is 1"):
        Environment.get(ws, "there", version=7)
    with pytest.raises(ValidationError, match="positive whole number"):
        Environment.get(ws, "there", version="latest")


@pytest.mark.parametrize("name", ["bad name", "-dash", "a/b", "x" * 256, "a..b"])
def test_bad_names(ws: Workspace, name: str) -> None:
    with pytest.raises(ValidationError, match="invalid environment name"):
        Environment(name).register(ws)


def test_good_names(ws: Workspace) -> None:
    for name in ["my-AzureML-env", "sklearn_1.5", "x"]:
        assert Environment(name).register(ws).version == "1"


def test_curated_prefixes_are_kept_for_the_catalogue(ws: Workspace) -> None:
    with pytest.raises(ValidationError, match=r"env\.clone\('my-env'\)\.register\(ws\)"):
        Environment("AzureML-Minimal").register(ws)


def test_concurrent_registrations_of_one_spec_make_one_version(ws: Workspace) -> None:
    with ThreadPoolExecutor(6) as pool:
        versions = set(pool.map(lambda _: _sklearn_env().register(ws).version, range(12)))
    assert versions == {"1"}
