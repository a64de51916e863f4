"""``atelier image``: list, show and save packages as a shell sees them (tests/e2e runs one)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.cli import Atelier, assert_one_line_error
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
