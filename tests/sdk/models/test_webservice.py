"""Local web services: Model.deploy starts a scoring server process (SQLite only)."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from atelier import ConflictError, Model, NotFoundError, ValidationError, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.azureml.core.webservice import LocalWebservice, Webservice
from atelier.azureml.exceptions import WebserviceException
from atelier.sdk.models.webservice import WebserviceError, _open
from tests.helpers import web

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SCORE = """
import json
import os
from atelier import Model

coefficient = None

def init():
    global coefficient
    path = Model.get_model_path("coef")
    assert os.environ["ATELIER_MODEL_DIR"]
    with open(path) as handle:
        coefficient = json.load(handle)["coefficient"]

def run(raw_data):
    return [value * coefficient for value in json.loads(raw_data)["data"]]
"""

BROKEN = """
def init():
    raise RuntimeError("the coefficient file is corrupt")

def run(data):
    return data
"""


def _source(tmp_path: Path, script: str) -> InferenceConfig:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(script)
    return InferenceConfig(entry_script="score.py", source_directory=source)


def _model(ws: Workspace, tmp_path: Path) -> Model:
    path = tmp_path / "coef.json"
    path.write_text(json.dumps({"coefficient": 3}))
    return Model.register(ws, path, "coef")


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def deployed(ws: Workspace, tmp_path: Path) -> Iterator[tuple[Webservice, Model]]:
    model = _model(ws, tmp_path)
    config = LocalWebservice.deploy_configuration(port=0)
    service = Model.deploy(ws, "coef-svc", [model], _source(tmp_path, SCORE), config)
    try:
        yield service, model
    finally:
        with contextlib.suppress(NotFoundError):
            Webservice(ws, "coef-svc").delete()


def test_deploy_score_keys_and_delete(
    ws: Workspace, deployed: tuple[Webservice, Model], tmp_path: Path, backend: str
) -> None:
    service, model = deployed
    service.wait_for_deployment(timeout_sec=60)
    assert service.state == "Healthy"
    assert service.scoring_uri == f"http://127.0.0.1:{service.port}/score"
    assert service.swagger_uri.endswith("/swagger.json")
    assert service.run({"data": [1, 2.5]}) == [3, 7.5]
    assert service.run(json.dumps({"data": [2]})) == [6]
    with pytest.raises(WebserviceError, match="answered 500") as failed:
        service.run({"other": 1})
    request_id = failed.value.request_id
    assert request_id and f"request id {request_id}" in failed.value.message
    assert request_id in service.get_logs()  # where the traceback is, under that id

    primary, secondary = service.get_keys()
    assert primary != secondary
    assert len(primary) >= 40
    wrong = web.post(
        service.scoring_uri, json={"data": [1]}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    ok = web.post(
        service.scoring_uri, json={"data": [1]}, headers={"Authorization": f"Bearer {secondary}"}
    )
    assert ok.json() == [3]

    service.regen_key("Primary")
    new_primary, same_secondary = service.get_keys()
    assert new_primary != primary
    assert same_secondary == secondary
    assert Webservice(ws, "coef-svc").get_keys() == (new_primary, secondary)
    old = web.post(
        service.scoring_uri, json={"data": [1]}, headers={"Authorization": f"Bearer {primary}"}
    )
    assert old.status_code == 401
    assert service.run({"data": [1]}) == [3]
    with pytest.raises(ValidationError):
        service.regen_key("Tertiary")
    _auth_turns_off_and_on_again(service, backend)

    assert "Uvicorn running" in service.get_logs() or service.get_logs().strip()
    assert [s.name for s in Webservice.list(ws)] == ["coef-svc"]
    assert [s.name for s in Webservice.list(ws, model_name="coef")] == ["coef-svc"]
    assert Webservice.list(ws, model_name="other") == []

    with pytest.raises(ConflictError, match="coef-svc"):
        model.delete()
    with pytest.raises(ConflictError, match="already exists"):
        Model.deploy(ws, "coef-svc", [model], _source(tmp_path, SCORE))

    pid = service._record.manager_pid
    service.delete()
    with pytest.raises(NotFoundError):
        Webservice(ws, "coef-svc")
    assert _gone(pid)
    assert Webservice.list(ws) == []
    model.delete()  # no longer deployed


def _auth_turns_off_and_on_again(service: Webservice, backend: str) -> None:
    """Who deployed it, and key auth changed on the live service with azureml's
    positional order of LocalWebservice.update (models, image_config, deployment_config,
    wait, inference_config)."""
    deployer = getpass.getuser() if backend == "embedded" else "admin"  # the token's user
    assert service.created_by is not None and service.created_by["userName"] == deployer
    assert service.serialize()["createdBy"] == service.created_by
    assert _open(service.workspace, replace(service._record, config={})).created_by is None
    assert isinstance(service, LocalWebservice)
    replicas = [r["pid"] for r in service.deployments["default"]["replicas"]]
    service.update(None, None, LocalWebservice.deploy_configuration(auth_enabled=False), True, None)
    assert not Webservice(service.workspace, service.name).auth_enabled
    assert web.post(service.scoring_uri, json={"data": [1]}).json() == [3]  # no key needed
    service.update(None, None, LocalWebservice.deploy_configuration(auth_enabled=True), True, None)
    assert web.post(service.scoring_uri, json={"data": [1]}).status_code == 401
    assert service.run({"data": [1]}) == [3]  # with its key
    assert [r["pid"] for r in service.deployments["default"]["replicas"]] == replicas  # no restart
    with pytest.raises(WebserviceException, match="inference_config"):
        service.update(None, object())


def test_failing_init_raises_with_the_log(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _model(ws, tmp_path)
    service = Model.deploy(ws, "broken-svc", [model], _source(tmp_path, BROKEN))
    try:
        with pytest.raises(WebserviceError, match="the coefficient file is corrupt"):
            service.wait_for_deployment(show_output=True, timeout_sec=60)
        assert service.state == "Failed"
        shown = capsys.readouterr().out.splitlines()
        assert re.fullmatch(r"broken-svc: Failed \(\d+\.\d s\)", shown[-1]), shown
    finally:
        service.delete()


def test_port_in_use_and_bad_names(ws: Workspace, tmp_path: Path) -> None:
    model = _model(ws, tmp_path)
    config = _source(tmp_path, SCORE)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConflictError, match=f"port {port}"):
            Model.deploy(
                ws, "port-svc", [model], config, LocalWebservice.deploy_configuration(port=port)
            )
    with pytest.raises(NotFoundError):
        Webservice(ws, "port-svc")
    assert not (Path(os.environ["ATELIER_HOME"]) / "services" / ws.name / "port-svc").exists()
    for bad in ("1abc", "ab", "a_b-c", "x" * 33):
        with pytest.raises(ValidationError):
            Model.deploy(ws, bad, [model], config)
    with pytest.raises(ValidationError):
        LocalWebservice.deploy_configuration(port=70000)
    with pytest.raises(NotFoundError):
        Webservice(ws, "absent-svc")


def test_reload_serves_the_edited_score_py(
    ws: Workspace, deployed: tuple[Webservice, Model], tmp_path: Path
) -> None:
    service = deployed[0]
    service.wait_for_deployment(timeout_sec=60)
    assert isinstance(service, LocalWebservice)
    assert service.run({"data": [1]}) == [3]
    (tmp_path / "src" / "score.py").write_text(SCORE.replace("* coefficient", "* coefficient + 1"))
    service.reload(wait=True)
    assert service.run({"data": [1]}) == [4]  # the new code, from disk
    assert service.state == "Healthy"
    assert service.error is None and service.tags == {} and service.description is None
    assert service.created_time.year >= 2024
    assert service.properties["authEnabled"] == "True"
    with pytest.raises(WebserviceError, match="get_keys"):
        service.get_token()
    service.add_tags({"stage": "test"})
    service.add_properties({"origin": "ci"})
    reopened = Webservice(ws, service.name)  # as its own class, as azureml's constructor
    assert isinstance(reopened, LocalWebservice) and reopened.tags == {"stage": "test"}
    assert reopened.properties["origin"] == "ci" and reopened.auth_enabled
    (tmp_path / "src" / "score.py").write_text(BROKEN)
    with pytest.raises(WebserviceError, match=r"did not restart|failed"):
        service.reload(wait=True)


@pytest.mark.parametrize("backend", ["embedded"])
def test_a_replica_without_uvicorn_names_the_extra(ws: Workspace, tmp_path: Path) -> None:
    from atelier import Environment

    python = tmp_path / "bare-python"  # an environment whose Python lacks the serve extra
    python.write_text(
        "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'uvicorn'\" >&2\nexit 1\n"
    )
    python.chmod(0o755)
    environment = Environment("bare")
    environment.python.user_managed_dependencies = True
    environment.python.interpreter_path = str(python)
    config = _source(tmp_path, SCORE)
    config.environment = environment
    service = Model.deploy(ws, "bare-svc", [_model(ws, tmp_path)], config)
    try:
        with pytest.raises(WebserviceError, match=r"cannot import uvicorn.*atelier-ml\[serve\]"):
            service.wait_for_deployment(timeout_sec=60)
    finally:
        service.delete()


@pytest.mark.parametrize("backend", ["embedded"])
def test_deploy_from_a_python_without_uvicorn_names_the_extra(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.core.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now fails
    with pytest.raises(MissingExtraError, match=r"pip install 'atelier-ml\[serve\]'"):
        Model.deploy(ws, "nouv-svc", [_model(ws, tmp_path)], _source(tmp_path, SCORE))
    with pytest.raises(NotFoundError):
        Webservice(ws, "nouv-svc")
