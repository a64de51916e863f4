"""Container deployments (AciWebservice): engine detection, the run command, and a clear
error when no engine works (this machine has a Docker client without a daemon)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from atelier import Model, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.azureml.core.webservice import AciWebservice, Webservice
from atelier.core.errors import ValidationError
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models.container_service import (
    ContainerEngineError,
    container_run_command,
    find_container_engine,
)


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """PATH holds only the real docker client (if any), pointed at a daemon that is absent."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = shutil.which("docker")
    if docker is not None:
        (bin_dir / "docker").symlink_to(docker)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-daemon.sock")
    return "docker" if docker else ""


def test_no_working_engine_is_said_plainly(no_engine: str) -> None:
    with pytest.raises(ContainerEngineError) as raised:
        find_container_engine()
    message = str(raised.value)
    assert "Install Podman" in message
    assert "LocalWebservice.deploy_configuration()" in message
    if no_engine:
        assert "'docker info' failed" in message
    else:
        assert "neither podman nor docker is installed" in message


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_deploy_without_an_engine_creates_nothing(
    ws: Workspace, tmp_path: Path, no_engine: str
) -> None:
    del no_engine
    (tmp_path / "m.json").write_text("{}")
    model = Model.register(ws, tmp_path / "m.json", "m")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "score.py").write_text("def init(): pass\ndef run(d): return d\n")
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1.5)
    inference = InferenceConfig(entry_script="score.py", source_directory=tmp_path / "src")
    with pytest.raises(ContainerEngineError, match="no working container engine"):
        Model.deploy(ws, "aci-svc", [model], inference, config)
    assert Webservice.list(ws) == []
    assert not proc.endpoint_dir(ws.name, "aci-svc").exists()
    model.delete()  # nothing was left holding it


def test_run_command_carries_the_limits(tmp_path: Path) -> None:
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1.5)
    spec = {
        "entry_script": str(tmp_path / "src" / "score.py"),
        "source_directory": str(tmp_path / "src"),
        "model_dir": str(tmp_path / "models"),
        "environment_variables": {"MODE": "fast"},
    }
    command = container_run_command(
        "/usr/bin/podman", "atelier-ws-svc", config, 8123, spec, ("secret-key",), "img:1"
    )
    text = " ".join(command)
    assert command[:3] == ["/usr/bin/podman", "run", "--detach"]
    assert "--cpus 0.5" in text
    assert "--memory 1536m" in text
    assert "--publish 127.0.0.1:8123:5001" in text
    assert f"{tmp_path / 'models'}:/var/azureml-app/models:ro" in text
    assert "--env ATELIER_SCORING_KEYS " in text
    assert "--env MODE=fast" in text
    assert "secret-key" not in text
    assert text.endswith(
        "img:1 python -m atelier.serving.server --entry-script /var/azureml-app/src/score.py "
        "--source-dir /var/azureml-app/src --model-dir /var/azureml-app/models "
        "--host 0.0.0.0 --port 5001"
    )
    assert json.dumps(config.cpu_cores) == "0.5"
    for bad in ({"cpu_cores": 0}, {"memory_gb": -1}, {"port": 70000}):
        with pytest.raises(ValidationError):
            AciWebservice.deploy_configuration(**bad)  # type: ignore[arg-type]
