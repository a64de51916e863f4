"""Model packages as real OCI images (podman here): the image scores with its keys, an
unchanged package reuses its build, a changed script rebuilds, ``pull`` rebuilds a missing
image from the stored context, and a failed build or a missing base image stores nothing."""

from __future__ import annotations

import io
import json
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest

from atelier import Environment, Model, NotFoundError, Workspace
from atelier.azureml.core.model import InferenceConfig
from atelier.containers import BASE_IMAGE, Engine
from atelier.containers.registry import REGISTRY_URL_VARIABLE, start_registry
from atelier.core.errors import ImageBuildError, ImageRegistryError
from atelier.sdk.models._endpoint_process import free_port
from atelier.sdk.models.package import ModelPackage
from atelier.sdk.models.package_image import push_to_registry
from tests.conftest import _missing
from tests.helpers import web
from tests.helpers.containers import engine_with_base_image
from tests.helpers.scoring import SCORE

pytestmark = [
    pytest.mark.one_database,
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["embedded"], indirect=True),
]


def _config(folder: Path, script: str = SCORE, env: Environment | None = None) -> InferenceConfig:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "score.py").write_text(script)
    return InferenceConfig(entry_script="score.py", source_directory=folder, environment=env)


def _score(engine: Engine, image: str, keys: list[str]) -> tuple[int, object]:
    name, port = f"atelier-test-{uuid.uuid4().hex[:8]}", free_port(0)
    engine.run(image, name=name, ports={port: 5001}, env={"ATELIER_SCORING_KEYS": json.dumps(keys)})
    try:
        for _ in range(300):
            try:
                if web.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {keys[0]}", "Content-Type": "application/json"}
        body = json.dumps({"data": [1, 2]})
        done = web.post(f"http://127.0.0.1:{port}/score", content=body, headers=headers)
        wrong = web.post(f"http://127.0.0.1:{port}/score", content=body, timeout=10)
        assert wrong.status_code == 401
        return done.status_code, done.json()
    finally:
        engine.remove(name)


def test_a_package_is_an_image_that_scores(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = engine_with_base_image()
    (tmp_path / "coef.json").write_text(json.dumps({"coefficient": 3}))
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    name = f"coef-{uuid.uuid4().hex[:8]}"
    package = Model.package(ws, [model], _config(tmp_path / "src"), image_name=name,
                            image_label="v1")  # fmt: skip
    try:
        package.wait_for_creation(show_output=True)
        shown = capsys.readouterr().out
        assert "localhost/atelier-cache/package:" in shown and "Succeeded" in shown
        assert package.location == f"localhost/atelier/{ws.name.lower()}/{name}:1"
        image_id = engine.image_id(package.location)
        assert image_id is not None and engine.image_id(package.location[:-1] + "v1") == image_id
        assert package.get_container_registry().address == "localhost"
        assert _score(engine, package.location, ["k-primary"]) == (200, [3, 6])

        again = Model.package(ws, [model], _config(tmp_path / "src"), image_name=name)
        assert "unchanged" in again.get_logs() and engine.image_id(again.location) == image_id
        changed = Model.package(
            ws, [model], _config(tmp_path / "src2", SCORE.replace("* coefficient", "* -1")),
            image_name=name,
        )  # fmt: skip
        assert engine.image_id(changed.location) not in (None, image_id)
        assert _score(engine, changed.location, ["k2"]) == (200, [-1, -2])

        engine.remove_image(package.location)  # gone from this machine: pull brings it back
        assert not engine.image_exists(package.location)
        assert package.pull() == package.local_image
        assert engine.image_id(package.location) == image_id
    finally:
        for made in ModelPackage.list(ws, name):
            engine.remove_image(made.local_image)
        engine.remove_image(package.local_image[:-1] + "v1")


def test_a_failed_build_keeps_its_log_and_stores_nothing(ws: Workspace, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    (tmp_path / "coef.json").write_text("{}")
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    absent = Environment("absent-base")
    absent.docker.base_image = "localhost/atelier-test/absent:1"
    with pytest.raises(ImageBuildError, match=r"base image 'localhost/atelier-test/absent:1' is"):
        Model.package(ws, [model], _config(tmp_path / "a", env=absent), image_name="x")

    no_python = tmp_path / "no-python"  # an image without Python: the install step fails
    no_python.mkdir()
    (no_python / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    tag = f"localhost/atelier-test/no-python:{uuid.uuid4().hex[:8]}"
    engine.build(no_python, [tag], io.StringIO())
    try:
        bare = Environment("bare-base")
        bare.docker.base_image = tag
        with pytest.raises(ImageBuildError) as caught:
            Model.package(ws, [model], _config(tmp_path / "b", env=bare), image_name="x")
    finally:
        engine.remove_image(tag)
    message = caught.value.message
    assert "'podman build' exited with code" in message and "its last lines:" in message
    kept = Path(message.split("The build log is kept at ")[1].split(";")[0])
    assert kept.is_file() and f"FROM {tag}" in kept.read_text()
    assert ModelPackage.list(ws) == []
    assert BASE_IMAGE.startswith("localhost/")


def test_the_workspace_registry_holds_pushed_images(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pushes and pulls through a real registry, with a small image in the package's
    local name (a package's own image is large: Model.package pushes it the same way)."""
    engine = engine_with_base_image()
    if shutil.which("docker-registry") is None and not Path("/usr/bin/docker-registry").is_file():
        _missing("docker-registry", "'apt-get install docker-registry' runs the image registry")
    (tmp_path / "coef.json").write_text(json.dumps({"coefficient": 3}))
    model = Model.register(ws, tmp_path / "coef.json", "coef")
    name = f"pushed-{uuid.uuid4().hex[:8]}"
    package = Model.package(ws, [model], _config(tmp_path / "src"), image_name=name,
                            image_label="prod", generate_dockerfile=True)  # fmt: skip
    small = tmp_path / "small"
    small.mkdir()
    (small / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    engine.build(small, [package.local_image], io.StringIO())
    repository = f"{ws.name.lower()}/{name}"
    process, registry = start_registry(tmp_path / "registry")
    try:
        monkeypatch.setenv(REGISTRY_URL_VARIABLE, registry.url)
        assert package.location == f"{registry.address}/{repository}:1"
        assert package.get_container_registry().address == registry.address
        push_to_registry(engine, ws.name, name, 1, "prod")
        assert registry.repositories() == [repository]
        assert registry.tags(repository) == ["1", "prod"]
        digest, manifest = registry.manifest(repository, "1")
        assert digest.startswith("sha256:") and manifest["layers"]

        image_id = engine.image_id(package.local_image)
        engine.remove_image(package.local_image)
        assert package.pull() == package.local_image  # from the registry, not rebuilt
        assert engine.image_id(package.local_image) == image_id
        assert registry.delete(repository, "prod") == digest
        assert registry.tags(repository) == []
        with pytest.raises(NotFoundError):
            registry.manifest(repository, "1")
    finally:
        process.terminate()
        process.wait()
        engine.remove_image(package.local_image)
        engine.remove_image(package.location)
    with pytest.raises(ImageRegistryError, match="cannot be reached"):
        Model.package(ws, [model], _config(tmp_path / "src"), image_name="down")
    assert [p.image_name for p in ModelPackage.list(ws)] == [name]
