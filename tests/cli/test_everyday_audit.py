"""Issue 15's remaining sentences, each held by a test: the URLs ``atelier server start``
serves, tables without Python reprs or epoch numbers, the install page's list of extras, and a
corrupted or read-only home as one typed error from the SDK."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from atelier import HomeError, Workspace
from tests.helpers.cli import Atelier

ROOT = Path(__file__).resolve().parents[2]


def test_server_start_prints_the_urls_it_serves(
    atelier: Atelier, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atelier.server import serve as serving

    served: list[tuple[Any, ...]] = []
    monkeypatch.setattr(serving, "start", lambda *args, **kwargs: served.append(args))
    result = atelier("server", "start", "--port", "8765", "--no-scheduler")
    assert result.code == 0, result.stderr
    assert served and served[0][:2] == ("127.0.0.1", 8765)
    base = "http://127.0.0.1:8765"
    shown = {line.split()[0]: line.split()[1] for line in result.stderr.splitlines()[1:-1]}
    assert shown == {
        "Studio": f"{base}/",
        "API": f"{base}/api/v1",
        "docs": f"{base}/docs",
        "MLflow": f"{base}/mlflow/<workspace>",
        "health": f"{base}/healthz",
    }
    assert "MLFLOW_TRACKING_URI" in result.stderr


def test_tables_show_no_python_reprs_or_epoch_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    from atelier.cli._output import print_fields, print_table, write_delimited

    expires = 1799146907331  # 2027-01-05 11:01:47 UTC, as epoch milliseconds
    row = ("t1", ["iris-clf:3", "iris-clf:4"], expires, {"stage": "prod"})
    print_table("Tokens", ("id", "models", "expires_ms", "tags"), [row])
    write_delimited(("id", "models", "expires_ms", "tags"), [row])
    print_fields("Token t1", dict(zip(("id", "models", "expires_ms", "tags"), row, strict=True)))
    out = capsys.readouterr().out
    assert "[" not in out and "'" not in out and "{" not in out, out
    assert str(expires) not in out, out
    assert "iris-clf:3, iris-clf:4" in out or "iris-clf:3,iris-clf:4" in out
    assert re.search(r"2027-01-0[456] \d\d:\d\d", out), out  # a time (in the local zone)
    assert "stage=prod" in out


def _extras_section() -> str:
    page = (ROOT / "docs" / "getting-started" / "install.md").read_text(encoding="utf-8")
    return page.split("## Extras", 1)[1].split("\n## ", 1)[0]


def test_the_install_page_lists_every_extra() -> None:
    from atelier.core.extras import EXTRAS

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    rows = [line for line in _extras_section().splitlines() if line.startswith("| `")]
    listed = {name for line in rows for name in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])}
    assert set(extras) <= listed, set(extras) - listed
    # atelier doctor checks every extra that brings modules a user would use
    for_tools = {"dev", "docs", "bench", "distributed-test", "all"}
    brings_modules = {name for name, requirements in extras.items() if requirements}
    assert brings_modules - for_tools <= set(EXTRAS), brings_modules - for_tools - set(EXTRAS)
    # pip install 'atelier-ml[all]' installs every extra a user would use
    (everything,) = extras["all"]
    named = re.fullmatch(r"atelier-ml\[([a-z0-9,-]+)\]", everything)
    assert named, everything
    in_all = set(named[1].split(","))
    assert in_all == set(extras) - for_tools, in_all ^ (set(extras) - for_tools)


def test_a_corrupted_database_is_one_typed_error_from_the_sdk(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "atelier.db").write_bytes(b"this is not sqlite at all" * 40)
    with pytest.raises(HomeError, match="not a SQLite database") as raised:
        Workspace.list(home=str(home))
    assert str(home) in raised.value.message
    assert "cannot reach the database" not in raised.value.message
    assert raised.value.__cause__ is None  # one error, not a chained traceback


def test_a_read_only_home_is_one_typed_error_from_the_sdk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    if os.geteuid() == 0:  # root reads and writes whatever the mode says: ask as a user would
        import atelier.client.embedded.home as checks

        monkeypatch.setattr(checks.os, "access", lambda path, mode: Path(path) != home)
    try:
        with pytest.raises(HomeError, match="not readable and writable") as raised:
            Workspace.create("lab", home=str(home))
        assert f"chmod u+rwx {home}" in raised.value.message
        assert raised.value.__cause__ is None
    finally:
        home.chmod(0o700)


def test_every_listing_takes_csv_and_tsv(atelier: Atelier) -> None:
    import typer.main

    from atelier.cli.main import app

    stack: list[tuple[str, Any]] = [("", typer.main.get_command(app))]
    listings = []
    while stack:
        path, command = stack.pop()
        subcommands = getattr(command, "commands", {}).items()
        stack.extend((f"{path} {name}", sub) for name, sub in subcommands)
        if path.endswith(" list"):
            listings.append(path.split())
    assert len(listings) >= 10, listings
    for listing in listings:  # a wrong -o is refused before the command runs, naming them all
        refused = atelier(*listing, "-o", "yaml")
        assert refused.code == 2, (listing, refused.stderr)
        for choice in ("table", "json", "csv", "tsv"):
            assert choice in refused.stderr, (listing, refused.stderr)
    assert atelier("workspace", "create", "lab").code == 0
    listed = atelier("workspace", "list", "-o", "tsv")
    assert listed.code == 0, listed.stderr
    header, *rows = listed.stdout.splitlines()
    name = header.split("\t").index("name")
    assert [row.split("\t")[name] for row in rows] == ["lab"]


def test_doctor_says_when_the_server_cannot_be_reached(atelier: Atelier, cli_home: Path) -> None:
    import socket

    from atelier.client.http.transport import write_credentials

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    write_credentials(f"http://127.0.0.1:{port}", "a-token", home=cli_home)
    result = atelier("doctor", "-o", "json")
    assert result.code == 1, result.stderr
    server = next(row for row in json.loads(result.stdout) if row["check"] == "server")
    assert server["status"] == "FAIL"
    assert f"http://127.0.0.1:{port} cannot be reached" in server["detail"]
    assert "start it or log in again" in server["detail"]
