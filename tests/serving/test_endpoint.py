"""Endpoints end to end: a real router process and replica processes on loopback ports."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atelier import ConflictError, Environment, Model, ValidationError, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.azureml.core.webservice import LocalWebservice, Webservice
from atelier.sdk.models.local_service import LocalWebserviceDeploymentConfiguration
from atelier.sdk.models.webservice import WebserviceError
from atelier.serving.scaling import (
    HEALTH_MISSES,
    HEALTH_SECONDS_VARIABLE,
    HEALTH_TIMEOUT_VARIABLE,
    health_seconds,
    health_timeout_seconds,
)
from tests.helpers import web

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
#: the rolling update, the most database-heavy path, runs on both databases
BOTH = pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)

SCORE = """
import json
from atelier import Model


coefficient = None

def init():
    global coefficient
    with open(Model.get_model_path("coef")) as handle:
        coefficient = json.load(handle)["coefficient"]

def run(raw_data):
    return [value * coefficient for value in json.loads(raw_data)["data"]]
"""

GREEN = """
import json
import os
import time

def init():
    global coefficient
    coefficient = int(os.environ["GREEN_COEFFICIENT"])

def run(raw_data):
    payload = json.loads(raw_data)
    time.sleep(payload.get("sleep", 0))
    return [value * coefficient for value in payload["data"]]
"""

BROKEN = """
def init():
    raise RuntimeError("the coefficient file is corrupt")

def run(data):
    return data
"""


def _config(tmp_path: Path, script: str, folder: str = "src") -> InferenceConfig:
    source = tmp_path / folder
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(script)
    return InferenceConfig(entry_script="score.py", source_directory=source)


def _green(tmp_path: Path, environment: str) -> InferenceConfig:
    """The GREEN script in a user-managed environment (this interpreter) whose variables
    make its coefficient 7."""
    env = Environment(environment)
    env.python.user_managed_dependencies = True
    env.python.interpreter_path = sys.executable
    env.environment_variables = {"GREEN_COEFFICIENT": "7"}
    green = _config(tmp_path, GREEN, "green")
    green.environment = env
    return green


def _model(ws: Workspace, tmp_path: Path, coefficient: int) -> Model:
    path = tmp_path / f"v{coefficient}" / "coef.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"coefficient": coefficient}))
    return Model.register(ws, path, "coef")


@pytest.fixture
def service(ws: Workspace, tmp_path: Path) -> Iterator[Webservice]:
    model = _model(ws, tmp_path, 3)
    config = LocalWebserviceDeploymentConfiguration(
        port=0, max_request_bytes=10_000, collect_model_data=True
    )
    svc = Model.deploy(ws, "coef-ep", [model], _config(tmp_path, SCORE), config)
    try:
        svc.wait_for_deployment(timeout_sec=60)
        yield svc
    finally:
        svc.delete()


@pytest.fixture
def quick_health(monkeypatch: pytest.MonkeyPatch) -> None:
    """Health checks of the endpoints this test starts every 0.25 s with 1 s to answer
    (0.5 s and 1.5 s for the others, tests/conftest.py): the tests that wait for missed
    checks wait 3.75 s instead of 6 s."""
    monkeypatch.setenv(HEALTH_SECONDS_VARIABLE, "0.25")
    monkeypatch.setenv(HEALTH_TIMEOUT_VARIABLE, "1")


def _gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with contextlib.suppress(FileNotFoundError):  # a zombie awaiting its reaper is gone
            stat = Path(f"/proc/{pid}/stat").read_text()
            if stat.rpartition(")")[2].split()[:1] == ["Z"]:
                return True
        time.sleep(0.1)
    return False


class _Load:
    """Requests one after another from a thread, counting failures."""

    def __init__(self, service: Webservice) -> None:
        self.url = service.scoring_uri
        self.key = service.get_keys()[0]
        self.ok = 0
        self.failed: list[str] = []
        self.answers: set[str] = set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        with web.Client(headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    response = client.post(self.url, json={"data": [1]})
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))
                    continue
                if response.status_code == 200:
                    self.ok += 1
                    self.answers.add(response.text)
                else:
                    self.failed.append(f"{response.status_code} {response.text}")
                time.sleep(0.005)

    def __enter__(self) -> _Load:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@SQLITE
def test_bad_requests_are_answered_by_the_router(service: Webservice) -> None:
    primary, _ = service.get_keys()
    auth = {"Authorization": f"Bearer {primary}"}
    assert web.post(service.scoring_uri, json={"data": [1]}).status_code == 401
    wrong = web.post(
        service.scoring_uri, json={"data": [1]}, headers={"Authorization": "Bearer wrong"}
    )
    assert wrong.status_code == 401
    assert "Bearer" in wrong.json()["detail"]
    big = web.post(service.scoring_uri, content=b"x" * 20_000, headers=auth)
    assert big.status_code == 413
    broken = web.post(service.scoring_uri, content=b"{not json", headers=auth)
    assert broken.status_code == 400
    assert "Traceback" not in broken.text
    assert web.get(service.swagger_uri).json()["openapi"].startswith("3.")
    assert web.get(service.scoring_uri.replace("/score", "/readyz")).status_code == 200
    metrics = web.get(service.scoring_uri.replace("/score", "/metrics")).text
    assert 'atelier_scoring_requests_total{method="POST",path="/score",status="401"} 2.0' in metrics

    assert service.run({"data": [2, 4]}) == [6, 12]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(collected := service.get_model_data()) < 2:
        time.sleep(0.2)
    by_input = {row["input"]: row for row in collected}
    assert by_input['{"data": [2, 4]}']["prediction"] == "[6, 12]"
    assert by_input['{"data": [2, 4]}']["status"] == 200
    assert by_input["{not json"]["status"] == 400
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert f"/modeldata/coef-ep/default/date={day}/part-" in collected[0]["path"]
    assert collected[0]["path"].endswith(".parquet")


@BOTH
def test_rolling_update_drops_no_request_and_a_failed_init_keeps_the_old(
    ws: Workspace, service: Webservice, tmp_path: Path
) -> None:
    assert service.run({"data": [1]}) == [3]
    newer = _model(ws, tmp_path, 5)
    with _Load(service) as load:
        time.sleep(0.3)
        service.update(models=[newer])
        time.sleep(0.3)
    assert load.failed == []
    assert load.ok > 10
    assert load.answers == {"[3]", "[5]"}
    assert service.run({"data": [1]}) == [5]
    assert service.models == ["coef:2"]
    with pytest.raises(ConflictError, match="coef-ep/default"):
        newer.delete()

    with (
        _Load(service) as load,
        pytest.raises(WebserviceError, match="the coefficient file is corrupt"),
    ):
        service.update(inference_config=_config(tmp_path, BROKEN, "broken"))
    assert load.failed == []
    assert service.run({"data": [2]}) == [10]
    assert service.state == "Healthy"
    assert service.models == ["coef:2"]
    assert "RuntimeError: the coefficient file is corrupt" in service.get_logs()


@SQLITE
def test_blue_green_traffic_and_a_crashed_replica(
    ws: Workspace, service: Webservice, tmp_path: Path
) -> None:
    older = Model(ws, "coef", version=1)
    newer = _model(ws, tmp_path, 7)
    # the environment is honoured: its interpreter runs the replicas, its variables reach them
    service.create_deployment("green", [newer], _green(tmp_path, "green-env"))
    assert service.traffic == {"default": 100}
    assert service.run({"data": [1]}) == [3]
    key = service.get_keys()[0]
    headers = {"Authorization": f"Bearer {key}", "azureml-model-deployment": "green"}
    routed = web.post(service.scoring_uri, json={"data": [1]}, headers=headers)
    assert routed.json() == [7]
    assert routed.headers["azureml-model-deployment"] == "green"

    with pytest.raises(ValidationError, match="add up to 100"):
        service.set_traffic({"default": 50, "green": 20})
    service.set_traffic({"default": 50, "green": 50})
    seen = {json.dumps(service.run({"data": [1]})) for _ in range(40)}
    assert seen == {"[3]", "[7]"}
    with pytest.raises(ConflictError, match="traffic"):
        service.delete_deployment("default")

    answers: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: answers.append(
            web.post(
                service.scoring_uri, json={"data": [1], "sleep": 5}, headers=headers, timeout=30
            )
        )
    )
    slow.start()
    time.sleep(1)
    replica = service.deployments["green"]["replicas"][0]["pid"]
    os.kill(replica, signal.SIGKILL)
    slow.join()
    assert answers[0].status_code == 502
    assert "stopped" in answers[0].json()["detail"]
    assert "retry" in answers[0].json()["detail"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replicas = service.deployments["green"]["replicas"]
        pids = [r["pid"] for r in replicas if r["state"] == "Ready"]
        if pids and replica not in pids:
            break
        time.sleep(0.1)
    assert pids and replica not in pids
    assert "exited with code -9; restarting it" in service.get_logs()
    routed = web.post(service.scoring_uri, json={"data": [2]}, headers=headers)
    assert routed.json() == [14]

    service.set_traffic({"green": 100})
    service.delete_deployment("default")
    assert {json.dumps(service.run({"data": [1]})) for _ in range(5)} == {"[7]"}
    older.delete()  # nothing serves version 1 any more


@pytest.mark.slow  # trains and serves a model
@SQLITE
@pytest.mark.usefixtures("quick_health")
def test_no_code_scikit_learn(ws: Workspace, tmp_path: Path) -> None:
    joblib = pytest.importorskip("joblib")
    linear = pytest.importorskip("sklearn.linear_model")
    classifier = linear.LogisticRegression().fit([[0.0, 0.0], [1.0, 1.0]] * 5, [0, 1] * 5)
    joblib.dump(classifier, tmp_path / "model.joblib")
    model = Model.register(ws, tmp_path / "model.joblib", "clf")
    service = Model.deploy(ws, "clf-ep", [model])
    try:
        service.wait_for_deployment(timeout_sec=60)
        assert service.run({"data": [[0, 0], [1, 1]]}) == [0, 1]
        assert "no-code scoring: ONNX Runtime (verified on" in service.get_logs()
        auth = {"Authorization": f"Bearer {service.get_keys()[0]}"}
        malformed = web.post(service.scoring_uri, content=b'{"data": [[0,', headers=auth)
        assert malformed.status_code == 400
        assert "not valid JSON" in malformed.json()["detail"]
        short = web.post(service.scoring_uri, json={"data": [[0]]}, headers=auth)
        assert short.status_code == 400
        assert "X has 1 features, but LogisticRegression is expecting 2" in short.json()["detail"]

        # a replica that stops answering (frozen) misses its health checks and is replaced
        frozen = service.deployments["default"]["replicas"][0]["pid"]
        os.kill(frozen, signal.SIGSTOP)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready = [r["pid"] for r in service.deployments["default"]["replicas"]]
            states = [r["state"] for r in service.deployments["default"]["replicas"]]
            if ready and frozen not in ready and states == ["Ready"]:
                break
            time.sleep(0.2)
        assert frozen not in ready and states == ["Ready"]
        assert "missed 3 health checks in a row" in service.get_logs()
        assert service.run({"data": [[1, 1]]}) == [1]

        # the router's process dies: its replicas follow, and the state says Failed
        replicas = [r["pid"] for r in service.deployments["default"]["replicas"]]
        os.kill(service._record.manager_pid, signal.SIGKILL)
        assert all(_gone(pid) for pid in replicas)
        assert service.state == "Failed"
        with pytest.raises(WebserviceError, match="not running"):
            service.wait_for_deployment(timeout_sec=5)
    finally:
        service.delete()
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValidationError, match="needs an entry script"):
        Model.deploy(ws, "txt-ep", [Model.register(ws, text, "notes")])
    with contextlib.suppress(Exception):
        Webservice(ws, "txt-ep").delete()


@SQLITE
def test_autoscale_adds_a_replica_under_load(ws: Workspace, tmp_path: Path) -> None:
    slow = SCORE.replace("def run(raw_data):", "def run(raw_data):\n    time.sleep(0.2)")
    slow = "import time\n" + slow
    config = LocalWebservice.deploy_configuration(
        autoscale_enabled=True,
        autoscale_min_replicas=1,
        autoscale_max_replicas=2,
        autoscale_target_in_flight=1,
    )
    service = Model.deploy(
        ws, "auto-ep", [_model(ws, tmp_path, 2)], _config(tmp_path, slow), config
    )
    try:
        service.wait_for_deployment(timeout_sec=60)
        assert len(service.deployments["default"]["replicas"]) == 1
        loads = [_Load(service) for _ in range(4)]
        with contextlib.ExitStack() as stack:
            for load in loads:
                stack.enter_context(load)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if len(service.deployments["default"]["replicas"]) == 2:
                    break
                time.sleep(0.2)
        assert len(service.deployments["default"]["replicas"]) == 2
        assert all(load.failed == [] for load in loads)
        assert "autoscale:" in service.get_logs()
    finally:
        service.delete()


@SQLITE
def test_no_code_mlflow_format_is_detected_and_loaded(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An MLflow folder (MLmodel with the sklearn flavour) gets the generated script,
    which loads its pickle and scores it through ONNX Runtime; checked in this process,
    without starting a server."""
    import pickle

    from atelier.core.errors import InputError
    from atelier.sdk.models.nocode import MLFLOW, detect_framework, no_code_script
    from atelier.serving.entry import load_entry_script

    linear = pytest.importorskip("sklearn.linear_model")
    folder = tmp_path / "iris-mlflow"
    folder.mkdir()
    classifier = linear.LogisticRegression().fit([[0.0], [1.0]] * 5, [0, 1] * 5)
    (folder / "model.pkl").write_bytes(pickle.dumps(classifier))
    (folder / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: pickle\n"
    )
    model = Model.register(ws, folder, "flow")
    assert detect_framework(model) == MLFLOW
    target = tmp_path / "served"
    model.download(target)
    script = no_code_script([model], tmp_path / "generated")
    entry = load_entry_script(script, script.parent)
    for variable in ("AZUREML_MODEL_DIR", "ATELIER_MODEL_DIR"):  # restored after the test
        monkeypatch.setenv(variable, str(target))
    with caplog.at_level(logging.INFO, logger="atelier.serving"):
        entry.call_init(target)
    assert "no-code scoring: ONNX Runtime (verified on 192 probe rows)" in caplog.text
    args, kwargs = entry.arguments(b'{"input_data": [[0], [1]]}')
    assert entry.run(*args, **kwargs) == [0, 1]
    assert entry.run('{"data": [0.9]}') == [1]
    with pytest.raises(InputError, match="list of rows"):
        entry.run('{"rows": 1}')
    with pytest.raises(InputError, match="X has 2 features, but LogisticRegression is expecting 1"):
        entry.run('{"data": [[0, 1]]}')
    with pytest.raises(InputError, match="Input X contains NaN"):
        entry.run('{"data": [[NaN]]}')  # json reads NaN where orjson refuses it
    with pytest.raises(InputError, match="the body is not JSON"):
        entry.run('{"data": [[0]')


SLEEPY = """
import json
import time

def init():
    pass

def run(raw_data):
    time.sleep(json.loads(raw_data)["sleep"])
    return "awake"
"""


@SQLITE
@pytest.mark.usefixtures("quick_health")
def test_a_slow_run_is_not_taken_for_a_dead_replica(ws: Workspace, tmp_path: Path) -> None:
    """A replica scores on its event loop, so it cannot answer health probes while run()
    works: a request that outlasts 3 missed probes (at the periods the endpoint's process
    was given, by default 2 s apart with a 2 s timeout) must still complete."""
    rounds = HEALTH_MISSES * (health_seconds() + health_timeout_seconds())
    model = _model(ws, tmp_path, 1)
    config = LocalWebserviceDeploymentConfiguration(port=0)
    svc = Model.deploy(ws, "sleepy-ep", [model], _config(tmp_path, SLEEPY), config)
    try:
        svc.wait_for_deployment(timeout_sec=60)
        before = svc.deployments["default"]["replicas"][0]["pid"]
        headers = {"Authorization": f"Bearer {svc.get_keys()[0]}"}
        answer = web.post(svc.scoring_uri, json={"sleep": rounds + 2}, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json() == "awake"
        assert svc.deployments["default"]["replicas"][0]["pid"] == before
    finally:
        svc.delete()


SLOW_COEF = SCORE.replace(
    "def run(raw_data):\n",
    "def run(raw_data):\n    import time\n    time.sleep(json.loads(raw_data).get('sleep', 0))\n",
)


def _post(client: httpx.Client, url: str, data: list[int], **headers: str) -> httpx.Response:
    return client.post(url, json={"data": data}, headers=headers)


@pytest.mark.slow  # waits out health rounds
@SQLITE
def test_one_hop_a_single_deployment_answers_its_connections_itself(
    ws: Workspace, tmp_path: Path
) -> None:
    """Without a traffic split or data collection, the router hands each client connection
    to a replica: requests are answered even while the router's process is stopped, a
    rollout gives the connections back (nothing fails), keys apply at once, and a second
    deployment makes the router take the requests again."""
    config = LocalWebserviceDeploymentConfiguration(port=0, num_replicas=2)
    svc = Model.deploy(
        ws, "hop-ep", [_model(ws, tmp_path, 3)], _config(tmp_path, SLOW_COEF), config
    )
    try:
        svc.wait_for_deployment(timeout_sec=60)
        primary, secondary = svc.get_keys()
        client = web.Client(headers={"Authorization": f"Bearer {primary}"}, timeout=30)
        first = _post(client, svc.scoring_uri, [1])
        assert first.json() == [3]
        assert first.headers["azureml-model-deployment"] == "default"
        assert _post(client, svc.scoring_uri, [1], authorization="Bearer nope").status_code == 401

        router = svc._record.manager_pid
        os.kill(router, signal.SIGSTOP)  # the router's process takes no part any more
        try:
            assert _post(client, svc.scoring_uri, [2]).json() == [6]
        finally:
            os.kill(router, signal.SIGCONT)

        metrics = web.get(svc.scoring_uri.replace("/score", "/metrics")).text
        assert 'atelier_scoring_requests_total{method="POST",path="/score",status="200"} 2.0' in (
            metrics
        ), metrics
        assert 'status="401"} 1.0' in metrics

        # a rollout under load on kept-alive connections: every one is given back and
        # handed to a new replica; none fails
        with _Load(svc) as load:
            time.sleep(0.5)
            svc.update(models=[_model(ws, tmp_path, 5)])
            time.sleep(0.5)
        assert load.failed == []
        assert load.answers == {"[3]", "[5]"}
        assert _post(client, svc.scoring_uri, [1]).json() == [5]  # the same connection

        svc.regen_key("Primary")
        assert _post(client, svc.scoring_uri, [1]).status_code == 401
        fresh = svc.get_keys()[0]
        assert fresh not in (primary, secondary)
        auth = f"Bearer {fresh}"
        assert _post(client, svc.scoring_uri, [1], authorization=auth).json() == [5]

        # a second deployment: the router must see each request (header, split) again
        svc.create_deployment("green", [_model(ws, tmp_path, 8)], _green(tmp_path, "green-hop"))
        pinned = _post(
            client,
            svc.scoring_uri,
            [1],
            authorization=auth,
            **{"azureml-model-deployment": "green"},
        )
        assert pinned.json() == [7], pinned.text
        client.close()
    finally:
        svc.delete()


@SQLITE
def test_one_hop_a_crashed_replica_is_a_clear_retryable_error(
    ws: Workspace, tmp_path: Path
) -> None:
    config = LocalWebserviceDeploymentConfiguration(port=0)
    svc = Model.deploy(
        ws, "crash-ep", [_model(ws, tmp_path, 3)], _config(tmp_path, SLOW_COEF), config
    )
    try:
        svc.wait_for_deployment(timeout_sec=60)
        replica = svc.deployments["default"]["replicas"][0]["pid"]
        errors: list[Exception] = []

        def slow() -> None:
            try:
                svc.run({"data": [1], "sleep": 5})
            except WebserviceError as exc:
                errors.append(exc)

        thread = threading.Thread(target=slow)
        thread.start()
        time.sleep(1)
        os.kill(replica, signal.SIGKILL)
        thread.join()
        assert len(errors) == 1
        assert "stopped" in str(errors[0])
        assert "retry" in str(errors[0])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [(r["pid"], r["state"]) for r in svc.deployments["default"]["replicas"]]
            if states and states[0][0] != replica and states[0][1] == "Ready":
                break
            time.sleep(0.1)
        assert svc.run({"data": [2]}) == [6]
        assert "exited with code -9; restarting it" in svc.get_logs()
    finally:
        svc.delete()
