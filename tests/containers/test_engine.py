"""The container module against the real engine: finding it, the project's containers.conf,
building from the base image, running, logs, inspect, stop and remove, and the errors."""

from __future__ import annotations

import io
import resource
import time
import uuid
from pathlib import Path

import httpx
import pytest

from atelier.containers import BASE_IMAGE, containers_conf, find_engine
from atelier.core.errors import ContainerEngineError, ImageBuildError
from atelier.sdk.models._endpoint_process import free_port
from tests.helpers import web
from tests.helpers.containers import engine_with_base_image


def test_no_engine_names_what_was_tried_and_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ContainerEngineError) as caught:
        find_engine()
    message = caught.value.message
    assert "tried 'podman': not found on PATH; 'docker': not found on PATH" in message
    assert "apt-get install podman" in message
    broken = tmp_path / "podman"  # installed but not working
    broken.write_text("#!/bin/sh\necho 'cannot reach storage' >&2\nexit 125\n")
    broken.chmod(0o755)
    with pytest.raises(ContainerEngineError, match=r"'podman info' failed \(cannot reach storage"):
        find_engine()


def test_containers_conf_stays_within_the_hard_limits(tmp_path: Path) -> None:
    text = containers_conf(tmp_path).read_text()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = int(text.split("nofile=")[1].split(":")[0])
    assert hard == resource.RLIM_INFINITY or nofile <= hard
    assert 'runtime = "runc"' in text and "nproc=32768:32768" in text


def test_build_run_logs_inspect_and_remove(tmp_path: Path) -> None:
    engine = engine_with_base_image()
    context = tmp_path / "ctx"
    context.mkdir()
    (context / "page.txt").write_text("served from a container\n")
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nWORKDIR /site\nCOPY page.txt .\n"
        'CMD ["python", "-u", "-m", "http.server", "8000"]\n'
    )
    tag = f"localhost/atelier-test/site:{uuid.uuid4().hex[:8]}"
    name = f"atelier-test-{uuid.uuid4().hex[:8]}"
    log = io.StringIO()
    image_id = engine.build(context, [tag], log)
    try:
        assert engine.image_id(tag) == image_id
        port = free_port(0)
        engine.run(tag, name=name, ports={port: 8000}, cpus=0.5, memory_mb=256, env={"A": "b"})
        assert engine.is_running(name)
        described = engine.inspect(name)
        assert described is not None and "A=b" in described["Config"]["Env"]
        assert described["HostConfig"]["Memory"] == 256 * 1024 * 1024
        body = _get(f"http://127.0.0.1:{port}/page.txt")
        assert body == "served from a container\n"
        assert "GET /page.txt" in engine.logs(name, tail=5)
        engine.stop(name, timeout=1)
        assert not engine.is_running(name)
    finally:
        engine.remove(name)
        engine.remove_image(tag)
    assert engine.inspect(name) is None
    engine.remove(name)  # absent: nothing to do, no error
    assert not engine.image_exists(tag)

    (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nRUN echo broken-step >&2; exit 4\n")
    failed = io.StringIO()
    with pytest.raises(ImageBuildError, match="build' exited with code"):
        engine.build(context, [tag], failed)
    assert "broken-step" in failed.getvalue()
    with pytest.raises(ContainerEngineError, match="exited with code"):
        engine.run("localhost/atelier-test/no-such-image:0", name=name)
    engine.remove(name)


def _get(url: str) -> str:
    for _ in range(100):
        try:
            return web.get(url, timeout=2).text
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")
