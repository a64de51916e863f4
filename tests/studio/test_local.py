"""``atelier studio``: the Studio over a local home, opened by its launch link only."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from atelier.core.errors import UnauthenticatedError
from atelier.core.settings import Settings
from atelier.services import studio_sessions
from atelier.store.database import Database
from atelier.store.models import StudioSessionRow
from tests.helpers import web


def test_atelier_studio_serves_the_home_through_its_launch_link(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env["ATELIER_HOME"] = str(home)
    code = "from atelier import Workspace; Workspace.create('mine')"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    process = subprocess.Popen(
        [sys.executable, "-m", "atelier.cli.main", "studio", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r"open (http://127\.0\.0\.1:(\d+)/local-signin/\S+)", line)
        assert found is not None, line
        link, base = found.group(1), f"http://127.0.0.1:{found.group(2)}"
        with web.Client(base_url=base, headers={"Accept": "text/html"}, timeout=120) as client:
            assert client.get("/").status_code == 303  # no session yet: to the sign-in page
            assert client.get(f"{base}/local-signin/wrong-key").status_code == 404
            opened = client.get(link)
            assert opened.status_code == 303
            assert "HttpOnly" in opened.headers["set-cookie"]
            page = client.get("/")
            assert page.status_code == 200
            assert 'href="/workspaces/mine"' in page.text
            assert 'action="/signout"' not in page.text  # a local session has no sign-out
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_an_expired_session_sends_the_browser_to_sign_in_again(tmp_path: Path) -> None:
    database = Database(Settings(home=tmp_path).resolved_database_url)
    database.ensure_schema()
    with database.session() as session:
        opened = studio_sessions.open_session(session, None)
        assert studio_sessions.resolve(session, opened.cookie).principal is None
        session.query(StudioSessionRow).update({"expires_ms": int(time.time() * 1000) - 1})
    with database.session() as session, pytest.raises(UnauthenticatedError, match="expired"):
        studio_sessions.resolve(session, opened.cookie)
    database.dispose()
