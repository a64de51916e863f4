"""The environment builder, with real uv builds into temporary cache roots."""

from __future__ import annotations

import fcntl
import io
import json
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from atelier import ValidationError
from atelier.execution import environments
from atelier.execution.environments import (
    HOST_PATHS_FILE,
    READY_MARKER,
    EnvironmentBuildError,
    build_key,
    ensure_environment,
)

SIX = {"python_version": None, "pip": ["six==1.16.0"], "conda_packages": []}


@pytest.fixture(scope="module")
def six_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """One real build shared by the tests that only inspect it: (cache root, python, log)."""
    root = tmp_path_factory.mktemp("env-cache")
    log = io.StringIO()
    python = ensure_environment(SIX, root, log)
    return root, python, log.getvalue()


def _python_can(python: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)


# --- keys and user-managed interpreters -----------------------------------------------
def test_build_key_covers_only_what_affects_the_build() -> None:
    spec = {**SIX, "environment_variables": {"A": "1"}, "base_image": "python:3.11-slim"}
    same = {**SIX, "environment_variables": {}, "base_image": "ubuntu", "pip": ["six==1.16.0"]}
    assert build_key(spec) == build_key(same)
    assert build_key(spec) != build_key({**SIX, "pip": ["six==1.15.0"]})
    assert build_key(spec) != build_key({**SIX, "python_version": "3.12"})
    two = {**SIX, "pip": ["a", "b"]}
    assert build_key(two) == build_key({**SIX, "pip": ["b", "a"]})
    managed = {"user_managed": True, "interpreter_path": "/usr/bin/python3", "pip": ["x"]}
    assert build_key(managed) == build_key({**managed, "pip": []})


def test_user_managed_uses_the_given_interpreter(tmp_path: Path) -> None:
    log = io.StringIO()
    assert ensure_environment({"user_managed": True}, tmp_path, log) == Path(sys.executable)
    given = {"user_managed": True, "interpreter_path": sys.executable}
    assert ensure_environment(given, tmp_path, log) == Path(sys.executable)
    by_name = {"user_managed": True, "interpreter_path": "sh"}
    assert ensure_environment(by_name, tmp_path, log) == Path(str(shutil.which("sh")))
    assert log.getvalue() == ""
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(EnvironmentBuildError, match="interpreter_path"):
        ensure_environment({"user_managed": True, "interpreter_path": "/no/python"}, tmp_path, log)
    with pytest.raises(EnvironmentBuildError, match="full path"):
        ensure_environment({"user_managed": True, "interpreter_path": "no-such-py"}, tmp_path, log)


def test_malformed_spec_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="python_version"):
        ensure_environment({"python_version": "latest"}, tmp_path, io.StringIO())
    with pytest.raises(ValidationError, match="list of strings"):
        ensure_environment({"pip": "six"}, tmp_path, io.StringIO())


# --- real builds ----------------------------------------------------------------------
def test_build_then_cache_hit(six_env: tuple[Path, Path, str]) -> None:
    root, python, build_log = six_env
    env_dir = root / build_key(SIX)[:16]
    assert python == env_dir / "bin" / "python"
    assert "building environment" in build_log
    assert "six==1.16.0" in build_log  # uv's own output goes to the log
    marker = json.loads((env_dir / READY_MARKER).read_text())
    assert marker["spec"] == SIX
    assert marker["build_key"] == build_key(SIX)
    built_at = (env_dir / READY_MARKER).stat().st_mtime_ns

    log = io.StringIO()
    named = {**SIX, "environment_variables": {"X": "1"}}  # same build, other variables
    assert ensure_environment(named, root, log) == python
    assert log.getvalue() == ""  # a cache hit runs no tool and says nothing
    assert (env_dir / READY_MARKER).stat().st_mtime_ns == built_at
    assert environments.build_log_path(SIX, root).read_text() == build_log  # kept as shown
    assert environments.build_state(SIX, root) == "Succeeded"
    assert environments.build_state({"pip": ["other==1.0"]}, root) == "Not built"


def test_built_python_imports_its_packages_and_atelier(six_env: tuple[Path, Path, str]) -> None:
    _, python, _ = six_env
    result = _python_can(python, "import six, atelier, sys; print(six.__file__); print(sys.prefix)")
    assert result.returncode == 0, result.stderr
    six_file, prefix = result.stdout.splitlines()
    env_dir = python.parent.parent
    assert Path(six_file).is_relative_to(env_dir)  # the env's own copy wins over the host's
    assert Path(prefix) == env_dir
    (site_packages,) = env_dir.glob("lib/python*/site-packages")
    assert (site_packages / HOST_PATHS_FILE).is_file()


def test_unresolvable_requirement_fails_cleanly(tmp_path: Path) -> None:
    spec = {"pip": ["atelier-no-such-package-zz==9.9"]}
    log = io.StringIO()
    with pytest.raises(EnvironmentBuildError, match="atelier-no-such-package-zz") as caught:
        ensure_environment(spec, tmp_path, log)
    assert caught.value.code == "environment_build_failed"
    assert "uv pip install" in caught.value.message
    assert "atelier-no-such-package-zz" in log.getvalue()
    assert not (tmp_path / build_key(spec)[:16]).exists()
    # only the lock and the kept build log (the Studio's environment page shows it)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{build_key(spec)[:16]}.lock", environments.build_log_path(spec, tmp_path).name]
    )
    kept = environments.build_log_path(spec, tmp_path).read_text()
    assert "atelier-no-such-package-zz" in kept
    assert environments.build_state(spec, tmp_path) == "Failed or running"


def test_conda_packages_without_conda_fail_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environments.shutil, "which", lambda name, *a, **k: None)
    spec = {"conda_packages": ["cudatoolkit=11.8"]}
    with pytest.raises(EnvironmentBuildError, match="need conda"):
        ensure_environment(spec, tmp_path, io.StringIO())
    assert not (tmp_path / build_key(spec)[:16]).exists()


def test_half_built_directory_is_rebuilt(tmp_path: Path) -> None:
    leftover = tmp_path / build_key(SIX)[:16]
    (leftover / "bin").mkdir(parents=True)
    (leftover / "bin" / "python").write_text("a killed build left this")
    python = ensure_environment(SIX, tmp_path, io.StringIO())
    assert _python_can(python, "import six").returncode == 0


CONCURRENT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from atelier.execution.environments import ensure_environment
    with open(sys.argv[2], "w") as log:
        print(ensure_environment(json.loads(sys.argv[3]), Path(sys.argv[1]), log))
    """
)


def test_concurrent_processes_build_once(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    logs = [tmp_path / f"log-{i}.txt" for i in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT, str(root), str(log), json.dumps(SIX)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for log in logs
    ]
    outputs = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert outputs == {str(root / build_key(SIX)[:16] / "bin" / "python")}
    texts = [log.read_text() for log in logs]
    assert sum("building environment" in text for text in texts) == 1
    assert sum("Installed 1 package" in text for text in texts) == 1


@pytest.mark.slow
def test_without_uv_falls_back_to_venv_and_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(environments, "find_uv", lambda: None)
    log = io.StringIO()
    python = ensure_environment(SIX, tmp_path, log)
    assert "-m venv" in log.getvalue()
    assert "Successfully installed six" in log.getvalue()
    assert _python_can(python, "import six, atelier").returncode == 0


def test_a_waiting_caller_finds_the_build_ready(tmp_path: Path) -> None:
    key = build_key(SIX)[:16]
    env_dir = tmp_path / key
    log = io.StringIO()
    results: list[Path] = []
    with (tmp_path / f"{key}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # we are "the other process", mid-build
        waiter = threading.Thread(
            target=lambda: results.append(ensure_environment(SIX, tmp_path, log))
        )
        waiter.start()
        deadline = time.monotonic() + 10
        while "waiting for another process" not in log.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        (env_dir / "bin").mkdir(parents=True)
        (env_dir / "bin" / "python").symlink_to(sys.executable)
        (env_dir / READY_MARKER).write_text("{}")
        fcntl.flock(lock, fcntl.LOCK_UN)
    waiter.join(timeout=30)
    assert results == [env_dir / "bin" / "python"]
    assert "waiting for another process" in log.getvalue()
    assert "building environment" not in log.getvalue()
