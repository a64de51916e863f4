"""``atelier datastore``: register, list, show, upload, download, unregister in a shell."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import Atelier, assert_one_line_error

pytestmark = pytest.mark.slow  # the journey starts the CLI several times


def test_datastore_journey(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.csv").write_text("x\n1\n")
    (source / "sub" / "b.csv").write_text("x\n2\n")
    folder = tmp_path / "store"
    done = atelier("datastore", "register", "files", "--url", str(folder), "-w", "lab")
    assert done.code == 0, done.stderr
    listed = atelier("datastore", "list", "-w", "lab", "-o", "json").json()
    assert {s["name"] for s in listed} == {"files", "workspaceblobstore"}
    assert all("credentials" not in s for s in listed)
    upload = atelier("datastore", "upload", "files", "-s", str(source), "-t", "in", "-w", "lab")
    assert upload.code == 0, upload.stderr
    assert (folder / "in" / "sub" / "b.csv").read_text() == "x\n2\n"
    down = atelier(
        "datastore", "download", "files", "-t", str(tmp_path / "out"), "-p", "in/sub", "-w", "lab"
    )
    assert down.code == 0, down.stderr
    assert "1 file(s)" in down.stdout
    assert (tmp_path / "out" / "in" / "sub" / "b.csv").is_file()
    shown = atelier("datastore", "show", "files", "-w", "lab", "-o", "json").json()
    assert shown["datastoreType"] == "LocalFolder"
    again = atelier("datastore", "register", "files", "--url", str(folder), "-w", "lab")
    assert_one_line_error(again, 4, "already exists", "--overwrite")
    assert "overwrite=True" not in again.stderr  # the CLI's advice, not the SDK's
    replaced = atelier(
        "datastore", "register", "files", "--url", str(folder), "-w", "lab", "--overwrite"
    )
    assert replaced.code == 0, replaced.stderr
    assert atelier("datastore", "unregister", "files", "-w", "lab").code == 0
    missing = atelier("datastore", "show", "files", "-w", "lab")
    assert_one_line_error(missing, 3, "not found")


def test_s3_credentials_come_from_the_environment_and_never_show(
    atelier: Atelier, tmp_path: Path
) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    secret = "do-not-print-this-secret"
    done = atelier(
        "datastore", "register", "s3", "--url", "s3://bucket/x", "--endpoint",
        "http://127.0.0.1:9", "--no-validate", "-w", "lab", "-o", "json",
        env={"AWS_ACCESS_KEY_ID": "id", "AWS_SECRET_ACCESS_KEY": secret},
    )  # fmt: skip
    assert done.code == 0, done.stderr
    assert done.json()["hasCredentials"] is True
    listing = atelier("datastore", "list", "-w", "lab")
    assert secret not in listing.stdout + done.stdout
    failed = atelier("datastore", "download", "s3", "-t", str(tmp_path / "o"), "-w", "lab")
    assert failed.code == 6
    assert "datastore 's3'" in failed.stderr
    assert secret not in failed.stderr


def test_dataset_commands(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.csv").write_text("x,y\n1,2\n3,4\n")
    store = tmp_path / "store"
    assert atelier("datastore", "register", "files", "--url", str(store), "-w", "lab").code == 0
    assert (
        atelier("datastore", "upload", "files", "-s", str(source), "-t", "t", "-w", "lab").code == 0
    )
    done = atelier(
        "dataset", "register", "table", "-d", "files", "-p", "t/*.csv", "-w", "lab", "-o", "json"
    )
    assert done.json()["version"] == 1
    again = atelier("dataset", "register", "table", "-d", "files", "-p", "t/*.csv", "-w", "lab")
    assert_one_line_error(again, 4, "--new-version")
    listed = atelier("dataset", "list", "-w", "lab", "-o", "json").json()
    assert [(d["name"], d["fileCount"]) for d in listed] == [("table", 1)]
    shown = atelier("dataset", "show", "table", "-w", "lab", "-o", "json").json()
    assert (shown["kind"], shown["models"], shown["runs"]) == ("tabular", [], [])
    down = atelier("dataset", "download", "table", "-t", str(tmp_path / "out"), "-w", "lab")
    assert down.code == 0, down.stderr
    assert (tmp_path / "out" / "part-00000.csv").read_text().startswith('"x","y"')
    again = atelier("dataset", "download", "table", "-o", str(tmp_path / "out"), "-w", "lab")
    assert_one_line_error(again, 4, "already exists", "--overwrite")  # as every download
    assert "overwrite=True" not in again.stderr
    missing = atelier("dataset", "show", "table", "-v", "9", "-w", "lab")
    assert_one_line_error(missing, 3, "no version 9")
