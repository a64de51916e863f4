"""``atelier image``: list, show and save packages as a shell sees them (tests/e2e runs one)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from atelier.containers.registry import REGISTRY_URL_VARIABLE, start_registry
from atelier.sdk.models.package_image import push_to_registry
from tests.helpers.cli import Atelier, assert_one_line_error
from tests.helpers.containers import engine_with_base_image
from tests.helpers.scoring import package_coef_scorer


def test_image_list_show_save(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    package_coef_scorer(tmp_path, "lab")
    listing = atelier("image", "list", "-w", "lab", "-o", "json").json()
    assert [(p["imageName"], p["version"], p["label"]) for p in listing] == [
        ("coef-scorer", 1, "v1")
    ]
    assert listing[0]["models"] == ["coef:1"]
    table = atelier("image", "list", "-w", "lab")
    assert "coef-scorer" in table.stdout and listing[0]["digest"][:12] in table.stdout
    shown = atelier("image", "show", "coef-scorer:1", "-w", "lab", "-o", "json").json()
    assert shown["digest"] == listing[0]["digest"]
    assert shown["manifest"]["entryScript"] == "score.py"
    saved = atelier("image", "save", "coef-scorer", str(tmp_path / "ctx"), "-w", "lab")
    assert saved.code == 0, saved.stderr
    assert (tmp_path / "ctx" / "Dockerfile").is_file()

    assert_one_line_error(atelier("image", "show", "nope", "-w", "lab"), 3, "not found")
    assert_one_line_error(atelier("image", "show", "coef-scorer:9", "-w", "lab"), 3, "version 9")
    assert_one_line_error(atelier("image", "show", "Bad Name", "-w", "lab"), 2, "invalid image")
    assert_one_line_error(atelier("image", "show", "coef-scorer:x", "-w", "lab"), 2, "VERSION")
    assert_one_line_error(
        atelier("image", "save", "coef-scorer", str(tmp_path / "ctx"), "-w", "lab"), 4, "empty"
    )
    built = atelier("image", "build", "coef-scorer", "-w", "lab", env={"PATH": str(tmp_path)})
    assert_one_line_error(built, 9, "no working container engine", "apt-get install podman")
    on_terminal = {"PATH": str(tmp_path), "TTY_COMPATIBLE": "1"}
    shown = atelier("image", "build", "coef-scorer", "-w", "lab", env=on_terminal)
    assert "image coef-scorer: building with the container engine" in shown.stderr


def test_image_registry_list_and_delete(atelier: Atelier, tmp_path: Path) -> None:
    engine = engine_with_base_image()
    assert atelier("workspace", "create", "lab").code == 0
    package_coef_scorer(tmp_path, "lab")
    small = tmp_path / "small"  # a small image in the package's local name
    small.mkdir()
    (small / "Dockerfile").write_text("FROM scratch\nCOPY Dockerfile /\n")
    local = "localhost/atelier/lab/coef-scorer:1"
    engine.build(small, [local], io.StringIO())
    process, registry = start_registry(tmp_path / "registry")
    env = {REGISTRY_URL_VARIABLE: registry.url}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(REGISTRY_URL_VARIABLE, registry.url)
            push_to_registry(engine, "lab", "coef-scorer", 1, "v1")
        listed = atelier("image", "list", "--registry", "-w", "lab", "-o", "json", env=env)
        assert listed.json() == [{"repository": "lab/coef-scorer", "tags": ["1", "v1"]}]
        table = atelier("image", "list", "--registry", "-w", "lab", env=env)
        assert f"{registry.address}/lab/coef-scorer" in table.stdout
        unconfirmed = atelier("image", "delete", "coef-scorer:1", "-w", "lab", env=env)
        assert_one_line_error(unconfirmed, 2, "--yes")
        deleted = atelier("image", "delete", "coef-scorer:1", "-w", "lab", "--yes", env=env)
        assert deleted.code == 0, deleted.stderr
        assert f"deleted {registry.address}/lab/coef-scorer:1" in deleted.stdout
        assert f"deleted {local}" in deleted.stdout
        assert registry.tags("lab/coef-scorer") == [] and not engine.image_exists(local)
        gone = atelier("image", "delete", "coef-scorer:1", "-w", "lab", "-y", env=env)
        assert_one_line_error(gone, 3, "no image of coef-scorer:1")
    finally:
        process.terminate()
        process.wait()
        engine.remove_image(local)
    down = atelier("image", "list", "--registry", "-w", "lab", env=env)
    assert_one_line_error(down, 8, "cannot be reached", "atelier server start --registry")
    unset = atelier("image", "list", "--registry", "-w", "lab", env={REGISTRY_URL_VARIABLE: ""})
    assert_one_line_error(unset, 2, "no image registry")
