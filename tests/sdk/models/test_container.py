"""Container deployments (AciWebservice): the package's image run as the endpoint's
replica with its CPU and memory limits, keys, logs, an update with no failed request,
delete, and the errors (no engine, a port in use, a container that exits at start)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from atelier import Environment, Model, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.azureml.core.webservice import AciWebservice, LocalWebservice, Webservice
from atelier.azureml.exceptions import WebserviceException
from atelier.containers import find_engine
from atelier.core.errors import (
    ConflictError,
    ContainerEngineError,
    ValidationError,
    WebserviceError,
)
from atelier.sdk.models import _endpoint_process as proc
from atelier.sdk.models.container_service import remove_containers
from atelier.serving.container_replica import LABEL, container_replica_command
from tests.helpers import web
from tests.helpers.containers import engine_with_base_image
from tests.helpers.scoring import SCORE
from tests.helpers.server import free_port
from tests.helpers.tls import self_signed


def _model_and_config(
    ws: Workspace, tmp_path: Path, script: str = SCORE
) -> tuple[Model, InferenceConfig]:
    (tmp_path / "coef.json").write_text(json.dumps({"coefficient": 3}))
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(script)
    return model, InferenceConfig(entry_script="score.py", source_directory=source)


def _containers(ws: Workspace, name: str) -> list[str]:
    found = find_engine().try_call(
        ["ps", "--all", "--quiet", "--filter", f"label={LABEL}={ws.name}/{name}"]
    )
    return found.stdout.split()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_deploy_without_an_engine_creates_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, inference = _model_and_config(ws, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1.5)
    with pytest.raises(ContainerEngineError, match="no working container engine: tried 'podman'"):
        Model.deploy(ws, "aci-svc", [model], inference, config)
    assert Webservice.list(ws) == []
    assert not proc.endpoint_dir(ws.name, "aci-svc").exists()
    model.delete()  # nothing was left holding it
    for bad in ({"cpu_cores": 0}, {"memory_gb": -1}, {"port": 70000}):
        with pytest.raises(ValidationError):
            AciWebservice.deploy_configuration(**bad)  # type: ignore[arg-type]


def test_tls_files_are_checked_when_configured(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path / "one")
    other_cert, _ = self_signed(tmp_path / "two")
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(WebserviceException, match="needs ssl_cert_pem_file and ssl_key_pem_file"):
        AciWebservice.deploy_configuration(ssl_enabled=True, ssl_cert_pem_file=str(cert))
    with pytest.raises(WebserviceException, match=r"cannot read ssl_key_pem_file .*readable"):
        AciWebservice.deploy_configuration(
            ssl_enabled=True, ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(tmp_path / "no")
        )
    for bad_cert, bad_key in ((tmp_path / "junk.pem", key), (other_cert, key)):
        with pytest.raises(WebserviceException, match="not a PEM certificate and its matching"):
            AciWebservice.deploy_configuration(
                ssl_enabled=True, ssl_cert_pem_file=str(bad_cert), ssl_key_pem_file=str(bad_key)
            )
    good = AciWebservice.deploy_configuration(
        ssl_enabled=True, ssl_cert_pem_file=str(cert), ssl_key_pem_file=str(key), ssl_cname="a.b"
    )
    assert good.ssl_enabled and good.ssl_cname == "a.b" and "ssl_enabled=True" in repr(good)
    assert good.tls is not None and good.tls.cert == cert.read_bytes()
    plain = AciWebservice.deploy_configuration(ssl_enabled=False, ssl_cert_pem_file="ignored")
    assert not plain.ssl_enabled and plain.tls is None
    # azureml's defaults: an ACI service takes requests without a key unless asked
    assert (
        not plain.auth_enabled
        and AciWebservice.deploy_configuration(auth_enabled=True).auth_enabled
    )


def test_the_replica_command_carries_the_limits_not_the_keys() -> None:
    spec = {
        "environment_variables": {"MODE": "fast"},
        "max_body_bytes": 1024,
        "container": {
            "engine": "/usr/bin/podman", "engine_name": "podman", "conf": "/x/containers.conf",
            "image": "localhost/atelier/ws/svc:1", "command": ["python", "-m", "srv"],
            "cpus": 0.5, "memory_mb": 1536, "name": "atelier-ws-svc", "label": "ws/svc",
        },
    }  # fmt: skip
    command, env = container_replica_command(spec, "default", 0, 8123, "127.0.0.1")
    text = " ".join(command)
    assert command[:3] == ["/usr/bin/podman", "run", "--rm"]
    assert "--cpus 0.5" in text and "--memory 1536m" in text
    assert "--network host" in text and f"--label {LABEL}=ws/svc" in text
    assert "--env ATELIER_SCORING_KEYS" in text and "--env MODE" in text and "fast" not in text
    assert text.endswith(
        "localhost/atelier/ws/svc:1 python -m srv --host 127.0.0.1 --port 8123 --workers 1 "
        "--max-body-bytes 1024 --timeout 60.0"
    )
    own, _ = container_replica_command(
        {"container": {**spec["container"], "command": None}}, "default", 1, 8124, "127.0.0.1"
    )
    assert "--publish 127.0.0.1:8124:5001" in " ".join(own)
    assert own[-1] == "localhost/atelier/ws/svc:1"
    assert env["MODE"] == "fast" and env["CONTAINERS_CONF"] == "/x/containers.conf"


def _details_change_without_a_new_container(
    ws: Workspace, service: AciWebservice, before: datetime, tls: Path
) -> None:
    """azureml's descriptive members on a container service, and update(tags=,
    properties=, description=) changing them while the same container serves."""
    assert service.properties["origin"] == "ci" and service.description == "triples its input"
    assert before - timedelta(seconds=1) <= service.created_time <= datetime.now(UTC)
    assert service.error is None and service.serialize()["tags"] == {"team": "risk"}
    assert service.auth_enabled and service.image_id == service.image
    with pytest.raises(WebserviceError, match="get_keys"):
        service.get_token()
    (container,) = _containers(ws, service.name)
    service.update(tags={"stage": "prod"}, properties={"owner": "ana"}, description="v2")
    reopened = Webservice(ws, service.name)
    assert isinstance(reopened, AciWebservice) and reopened.tags == {"stage": "prod"}
    assert reopened.properties["origin"] == "ci" and reopened.properties["owner"] == "ana"
    assert reopened.description == "v2" and reopened.updated_time >= reopened.created_time
    with pytest.raises(ValidationError, match="origin"):  # set once, never changed
        service.update(properties={"origin": "laptop"})
    service.add_tags({"tier": "gold"})
    service.remove_tags(["stage"])
    assert Webservice(ws, service.name).tags == {"tier": "gold"}
    with pytest.raises(WebserviceError, match="no parameters"):
        service.update()
    _access_changes_live(service, tls)
    assert _containers(ws, service.name) == [container]  # none of it restarted the container
    assert service.run({"data": [1, 2]}) == [3, 6]


def _access_changes_live(service: AciWebservice, tls: Path) -> None:
    """HTTPS from deploy time, then key auth and TLS turned off and on again on the live
    service: each scored with and without a key, over HTTP and HTTPS."""
    cert = tls / "cert.pem"
    assert service.get_keys()[0] == "chosen-primary-key-1234"  # deploy_configuration's
    assert service.ssl_enabled and service.scoring_uri.startswith("https://127.0.0.1:")
    assert service.run({"data": [1]}) == [3]  # checked against the service's certificate
    trusting = ssl.create_default_context(cafile=str(cert))
    keyed = {"Authorization": f"Bearer {service.get_keys()[0]}"}
    assert web.post(
        service.scoring_uri, json={"data": [2]}, headers=keyed, verify=trusting
    ).json() == [6]
    assert web.post(service.scoring_uri, json={"data": [2]}, verify=trusting).status_code == 401
    with pytest.raises(httpx.TransportError):  # no answer in the clear
        web.post(service.scoring_uri.replace("https:", "http:"), json={"data": [1]}, timeout=10)

    service.update(auth_enabled=False, ssl_enabled=False)
    assert service.scoring_uri.startswith("http://") and not service.auth_enabled
    assert web.post(service.scoring_uri, json={"data": [1]}, timeout=10).json() == [3]

    named = self_signed(tls / "named", "svc.example.test")
    service.update(
        auth_enabled=True, ssl_enabled=True, ssl_cert_pem_file=str(named[0]),
        ssl_key_pem_file=str(named[1]), ssl_cname="svc.example.test",
    )  # fmt: skip
    assert service.scoring_uri.startswith("https://") and service.ssl_cname == "svc.example.test"
    assert service.run({"data": [1]}) == [3]  # the name is what the certificate is checked for
    named_trust = ssl.create_default_context(cafile=str(named[0]))
    with web.Client(verify=named_trust, timeout=10) as client:
        unkeyed = client.post(
            service.scoring_uri, json={"data": [1]},
            extensions={"sni_hostname": "svc.example.test"},
        )  # fmt: skip
    assert unkeyed.status_code == 401  # the key is needed again
    service.update(ssl_enabled=False)
    assert service.scoring_uri.startswith("http://") and service.auth_enabled
    assert not (service._folder / "tls").exists()  # its private key is not left behind
    with pytest.raises(WebserviceException, match="ssl_enabled=True"):
        service.update(ssl_cname="svc.example.test")  # TLS is off: a name alone is not enough


@pytest.mark.slow
@pytest.mark.one_database
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_container_service_scores_updates_and_goes(ws: Workspace, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    model, inference = _model_and_config(ws, tmp_path)
    config = AciWebservice.deploy_configuration(
        cpu_cores=0.5,
        memory_gb=1,
        tags={"team": "risk"},
        properties={"origin": "ci"},
        description="triples its input",
        auth_enabled=True,
        collect_model_data=True,
        ssl_enabled=True,
        ssl_cert_pem_file=str(self_signed(tmp_path / "tls")[0]),
        ssl_key_pem_file=str(tmp_path / "tls" / "key.pem"),
        primary_key="chosen-primary-key-1234",
    )
    before = datetime.now(UTC)
    service = Model.deploy(ws, "aci-svc", [model], inference, config)
    try:
        assert isinstance(service, AciWebservice) and service.compute_type == "ACI"
        assert service.state == "Healthy" and service.tags == {"team": "risk"}
        assert service.run({"data": [1, 2]}) == [3, 6]
        _details_change_without_a_new_container(ws, service, before, tmp_path / "tls")
        refused = web.post(service.scoring_uri, json={"data": [1]}, timeout=10)
        assert refused.status_code == 401
        (container,) = _containers(ws, "aci-svc")
        described = engine.inspect(container)
        assert described is not None
        assert described["HostConfig"]["Memory"] == 1024 * 1024 * 1024
        assert described["HostConfig"]["NanoCpus"] == 500_000_000
        assert "starting container replica" in service.get_logs()
        assert "Uvicorn running" in service.get_logs()

        with socket.socket() as taken:  # a port in use is refused before anything is made
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = AciWebservice.deploy_configuration(port=taken.getsockname()[1])
            with pytest.raises(ConflictError):
                Model.deploy(ws, "aci-busy", [model], inference, busy)

        failures: list[object] = []
        answers: set[str] = set()
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                try:
                    answers.add(json.dumps(service.run({"data": [1]})))
                except Exception as exc:  # every failure is recorded, none expected
                    failures.append(exc)

        thread = threading.Thread(target=hammer)
        thread.start()
        old_image = service.image
        (inference.source_directory / "score.py").write_text(SCORE.replace("* coefficient", "* 10"))
        try:
            service.update(inference_config=inference)
        finally:
            stop.set()
            thread.join()
        assert failures == []
        assert service.run({"data": [1, 2]}) == [10, 20] and service.image != old_image
        assert answers <= {"[3]", "[10]"}
        for _ in range(300):  # the old container stops once it has drained
            if len(_containers(ws, "aci-svc")) == 1:
                break
            time.sleep(0.1)
        assert len(_containers(ws, "aci-svc")) == 1
    finally:
        service.delete()
    assert _containers(ws, "aci-svc") == [] and Webservice.list(ws) == []
    assert not proc.endpoint_dir(ws.name, "aci-svc").exists()


@pytest.mark.slow
@pytest.mark.one_database
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_container_that_exits_at_start_says_why_and_leaves_nothing(
    ws: Workspace, tmp_path: Path
) -> None:
    engine_with_base_image()
    broken = (
        "def init():\n    raise RuntimeError('the model file is corrupt')\n\n"
        "def run(d):\n    return d\n"
    )
    model, inference = _model_and_config(ws, tmp_path, broken)
    config = AciWebservice.deploy_configuration(cpu_cores=0.5, memory_gb=1)
    with pytest.raises(WebserviceError) as caught:
        Model.deploy(ws, "aci-broken", [model], inference, config)
    assert "the model file is corrupt" in caught.value.message
    assert Webservice.list(ws) == [] and _containers(ws, "aci-broken") == []
    assert not proc.endpoint_dir(ws.name, "aci-broken").exists()
    remove_containers(ws.name, "aci-broken")  # nothing to remove: no error


@pytest.mark.slow
@pytest.mark.one_database
@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
def test_a_local_service_whose_environment_asks_for_docker_runs_in_a_container(
    ws: Workspace, tmp_path: Path
) -> None:
    engine = engine_with_base_image()
    model, inference = _model_and_config(ws, tmp_path)
    docked = Environment("docked")
    docked.docker.enabled = True
    inference.environment = docked
    config = LocalWebservice.deploy_configuration(port=free_port())
    service = Model.deploy(ws, "docked", [model], inference, config)
    try:
        assert service.port == config.port and service.run({"data": [1, 2]}) == [3, 6]
        (container,) = _containers(ws, "docked")
        described = engine.inspect(container)
        assert described is not None and described["HostConfig"]["NanoCpus"] == 0
    finally:
        service.delete()
    assert _containers(ws, "docked") == []
