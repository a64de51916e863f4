"""The scoring app over ASGI: /score, probes, keys, limits, errors, metrics, swagger."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from atelier.core.errors import EntryScriptError
from atelier.serving.app import create_app
from tests.serving.conftest import started

pytestmark = pytest.mark.anyio

WriteScript = Callable[..., Path]

RAW = """
    import json
    state = {}

    def init():
        state["factor"] = 2

    def run(data):
        assert isinstance(data, str)
        values = json.loads(data)["data"]
        return [value * state["factor"] for value in values]
"""

DECORATED = """
    from atelier.serving.schema import StandardPythonParameterType, input_schema, output_schema

    def init():
        pass

    @input_schema("data", StandardPythonParameterType([[1.0, 2.0]]))
    @input_schema("scale", StandardPythonParameterType(1))
    @output_schema(StandardPythonParameterType([3.0]))
    def run(data, scale=1):
        return [sum(row) * scale for row in data]
"""


async def test_raw_run_gets_the_body_as_a_string(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        response = await client.post("/score", json={"data": [1, 2, 3]})
    assert response.status_code == 200
    assert response.json() == [2, 4, 6]
    assert response.headers["x-request-id"]


async def test_decorated_run_gets_keyword_arguments(write_script: WriteScript) -> None:
    folder = write_script(DECORATED)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        default = await client.post("/score", json={"data": [[1, 2], [3, 4]]})
        scaled = await client.post("/score", json={"data": [[1, 2]], "scale": 10})
        missing = await client.post("/score", json={"scale": 10})
    assert default.json() == [3, 7]
    assert scaled.json() == [30]
    assert missing.status_code == 400
    assert "'data'" in missing.json()["detail"]


async def test_swagger_describes_the_input_schema(write_script: WriteScript) -> None:
    folder = write_script(DECORATED)
    async with started(create_app(Path("score.py"), folder, None, ("k",))) as client:
        document = (await client.get("/swagger.json")).json()
    score = document["paths"]["/score"]["post"]
    schema = score["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["data"]["type"] == "array"
    assert schema["properties"]["data"]["items"] == {"type": "array", "items": {"type": "number"}}
    assert schema["properties"]["scale"]["type"] == "integer"
    assert list(schema["properties"]) == ["data", "scale"]
    output = score["responses"]["200"]["content"]["application/json"]["schema"]
    assert output["items"] == {"type": "number"}
    assert score["security"] == [{"bearer": []}]


async def test_init_sees_the_model_dir(write_script: WriteScript, tmp_path: Path) -> None:
    folder = write_script(
        """
        import os
        seen = {}

        def init():
            seen["atelier"] = os.environ["ATELIER_MODEL_DIR"]
            seen["azureml"] = os.environ["AZUREML_MODEL_DIR"]

        def run(data):
            return seen
        """
    )
    model_dir = tmp_path / "model"
    async with started(create_app(Path("score.py"), folder, model_dir, None)) as client:
        response = await client.post("/score", json={})
    assert response.json() == {"atelier": str(model_dir), "azureml": str(model_dir)}


async def test_entry_script_can_import_its_neighbours(write_script: WriteScript) -> None:
    write_script("FACTOR = 5\n", name="helper_for_scoring.py")
    folder = write_script(
        """
        from helper_for_scoring import FACTOR

        def init():
            pass

        def run(data):
            return FACTOR
        """
    )
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        assert (await client.post("/score", json=1)).json() == 5


@pytest.mark.parametrize(
    ("source", "missing"),
    [
        ("def run(data):\n    return data\n", "init()"),
        ("def init():\n    pass\n", "run()"),
        ("x = 1\n", "init() and run()"),
    ],
)
async def test_missing_init_or_run_is_an_entry_script_error(
    write_script: WriteScript, source: str, missing: str
) -> None:
    folder = write_script(source)
    with pytest.raises(EntryScriptError, match=re.escape(f"does not define {missing};")):
        create_app(Path("score.py"), folder, None, None)


async def test_failing_import_is_an_entry_script_error(write_script: WriteScript) -> None:
    folder = write_script("import not_a_module_anywhere_xyz\n")
    with pytest.raises(EntryScriptError, match="failed to import"):
        create_app(Path("score.py"), folder, None, None)


async def test_failing_init_is_not_ready(
    write_script: WriteScript, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_script(
        """
        def init():
            raise RuntimeError("no model file")

        def run(data):
            return data
        """
    )
    with caplog.at_level(logging.ERROR, logger="atelier.serving"):
        async with started(create_app(Path("score.py"), folder, None, None)) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            score = await client.post("/score", json={})
    assert ready.status_code == 503
    assert score.status_code == 503
    assert score.json()["status"] == 503
    assert "no model file" in caplog.text


async def test_ready_after_init(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        assert (await client.get("/readyz")).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


async def test_malformed_json_is_a_400_problem(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        response = await client.post(
            "/score", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail"}
    assert body["status"] == 400
    assert "not valid JSON" in body["detail"]


async def test_oversized_body_is_413(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    app = create_app(Path("score.py"), folder, None, None, max_body_bytes=100)
    async with started(app) as client:
        small = await client.post("/score", json={"data": [1]})
        large = await client.post("/score", json={"data": [1] * 100})
    assert small.status_code == 200
    assert large.status_code == 413
    assert large.json()["status"] == 413


async def test_keys_are_required_and_both_accepted(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    app = create_app(Path("score.py"), folder, None, ("primary-key", "secondary-key"))
    body = {"data": [1]}
    async with started(app) as client:
        missing = await client.post("/score", json=body)
        wrong = await client.post("/score", json=body, headers={"Authorization": "Bearer nope"})
        basic = await client.post(
            "/score", json=body, headers={"Authorization": "Basic primary-key"}
        )
        primary = await client.post(
            "/score", json=body, headers={"Authorization": "Bearer primary-key"}
        )
        secondary = await client.post(
            "/score", json=body, headers={"Authorization": "Bearer secondary-key"}
        )
        probe = await client.get("/healthz")
    assert [missing.status_code, wrong.status_code, basic.status_code] == [401, 401, 401]
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.json()["title"] == "Unauthorized"
    assert [primary.status_code, secondary.status_code] == [200, 200]
    assert probe.status_code == 200


async def test_failing_run_hides_the_traceback(
    write_script: WriteScript, caplog: pytest.LogCaptureFixture
) -> None:
    folder = write_script(
        """
        def init():
            pass

        def run(data):
            raise ValueError("secret-internal-detail")
        """
    )
    with caplog.at_level(logging.ERROR, logger="atelier.serving"):
        async with started(create_app(Path("score.py"), folder, None, None)) as client:
            response = await client.post("/score", json={}, headers={"x-request-id": "req-42"})
    assert response.status_code == 500
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text
    assert "ValueError" not in response.text
    assert response.json()["request_id"] == "req-42"
    assert response.headers["x-request-id"] == "req-42"
    assert "secret-internal-detail" in caplog.text
    assert "Traceback" in caplog.text
    assert "req-42" in caplog.text


async def test_request_id_is_echoed_or_made(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        ms = await client.post("/score", json={"data": []}, headers={"x-ms-request-id": "ms-1"})
        plain = await client.get("/healthz", headers={"x-request-id": "plain-2"})
        first = await client.get("/healthz")
        second = await client.get("/healthz")
    assert ms.headers["x-request-id"] == "ms-1"
    assert plain.headers["x-request-id"] == "plain-2"
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_metrics_count_requests(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        for _ in range(3):
            await client.post("/score", json={"data": [1]})
        await client.post("/score", content=b"{")
        text = (await client.get("/metrics")).text
    assert 'atelier_scoring_requests_total{method="POST",path="/score",status="200"} 3.0' in text
    assert 'atelier_scoring_requests_total{method="POST",path="/score",status="400"} 1.0' in text
    assert 'atelier_scoring_request_duration_seconds_count{path="/score"} 4.0' in text
    assert "atelier_scoring_requests_in_flight 1.0" in text  # the /metrics request itself


async def test_metrics_are_per_app(write_script: WriteScript) -> None:
    folder = write_script(RAW)
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        await client.post("/score", json={"data": [1]})
    async with started(create_app(Path("score.py"), folder, None, None)) as client:
        text = (await client.get("/metrics")).text
    assert 'path="/score"' not in text


async def test_slow_run_times_out_with_504(write_script: WriteScript) -> None:
    folder = write_script(
        """
        import time

        def init():
            pass

        def run(data):
            time.sleep(1.0)
            return "late"
        """
    )
    app = create_app(Path("score.py"), folder, None, None, timeout_seconds=0.1)
    async with started(app) as client:
        response = await client.post("/score", json={})
        metrics = (await client.get("/metrics")).text
    assert response.status_code == 504
    assert response.json()["status"] == 504
    assert 'atelier_scoring_errors_total{kind="timeout"} 1.0' in metrics


SLOW_UNLESS_FAST = """
    import json
    import time

    def init():
        pass

    def run(data):
        seconds = json.loads(data)["sleep"]
        try:
            time.sleep(seconds)  # a script that swallows every Exception
        except Exception:
            return "swallowed"
        return "done"
"""


async def test_timeout_interrupts_run_and_the_app_keeps_serving(
    write_script: WriteScript,
) -> None:
    folder = write_script(SLOW_UNLESS_FAST)
    app = create_app(Path("score.py"), folder, None, None, timeout_seconds=0.2)
    async with started(app) as client:
        slow = await client.post("/score", json={"sleep": 5})
        fast = await client.post("/score", json={"sleep": 0})
    # interrupted (not left running) even though run() catches Exception: the next request
    # is answered at once, by the same single-threaded replica
    assert slow.status_code == 504
    assert "0.2 seconds" in slow.json()["detail"]
    assert fast.status_code == 200
    assert fast.json() == "done"


def test_timeout_off_the_main_thread_still_answers_504(write_script: WriteScript) -> None:
    """An app run by an embedding program on a thread of its own (no SIGALRM there)."""
    import asyncio
    import threading

    import httpx

    folder = write_script(SLOW_UNLESS_FAST)
    app = create_app(Path("score.py"), folder, None, None, timeout_seconds=0.2)
    answers: list[httpx.Response] = []

    async def use() -> None:
        async with started(app) as client:
            answers.append(await client.post("/score", json={"sleep": 1}))
            answers.append(await client.post("/score", json={"sleep": 0}))

    worker = threading.Thread(target=lambda: asyncio.run(use()))
    worker.start()
    worker.join(timeout=30)
    assert [answer.status_code for answer in answers] == [504, 200]


async def test_a_direct_request_stops_counting_as_in_flight_before_its_answer_leaves(
    write_script: WriteScript,
) -> None:
    """The manager does not count the health checks a busy replica misses; a replica
    frozen just as its client had the answer must not look busy for ever."""
    from atelier.serving.direct import DIRECT_SCOPE_KEY

    app = create_app(Path("score.py"), write_script(RAW), None, None)
    await app.startup()
    app.load = memoryview(bytearray(8)).cast("q")
    body = b'{"data": [1, 2]}'
    received = [{"type": "http.request", "body": body, "more_body": False}]
    counts_when_sent: list[tuple[str, int]] = []

    async def receive() -> dict[str, object]:
        return received.pop(0)

    async def send(message: dict[str, object]) -> None:
        assert app.load is not None
        counts_when_sent.append((str(message["type"]), app.load[0]))

    scope = {
        "type": "http", "method": "POST", "path": "/score", "headers": [],
        DIRECT_SCOPE_KEY: True,
    }  # fmt: skip
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert counts_when_sent == [("http.response.start", 0), ("http.response.body", 0)]


async def test_a_request_is_counted_in_metrics_before_its_answer_leaves(
    write_script: WriteScript,
) -> None:
    """A client that has its answer and then reads /metrics finds the request there
    (counted after the send, it could be missing for a moment), counted once, with the
    status it was answered with, and no longer in flight."""
    app = create_app(Path("score.py"), write_script(RAW), None, None)
    await app.startup()
    seen_at_body: list[str] = []

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b'{"data": [1]}', "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.body":
            seen_at_body.append(app.metrics.render().decode())

    for path in ("/score", "/nowhere"):
        scope = {"type": "http", "method": "POST", "path": path, "headers": []}
        await app(scope, receive, send)  # type: ignore[arg-type]
    scored, missing = seen_at_body
    assert 'requests_total{method="POST",path="/score",status="200"} 1.0' in scored
    assert "atelier_scoring_requests_in_flight 0.0" in scored
    assert 'path="other",status="404"} 1.0' in missing
    final = app.metrics.render().decode()
    assert 'requests_total{method="POST",path="/score",status="200"} 1.0' in final
    assert 'requests_total{method="POST",path="other",status="404"} 1.0' in final
