"""The Gate's one exemption: a token-bearing, non-browser PUT may carry the file's own
content type (how the ``mlflow`` client uploads artifacts); a browser's may not."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import web
from tests.server.conftest import Team


@pytest.mark.parametrize("database", ["sqlite"])
def test_a_token_bearing_put_may_send_the_files_own_type(team: Team) -> None:
    base = f"/mlflow/{team.workspace}/api/2.0"
    with team.contributor.client(team.url) as client:
        made = client.post(f"{base}/mlflow/runs/create", json={"experiment_id": "0"})
        assert made.status_code == 200, made.text
        info = made.json()["run"]["info"]
        experiment, run_id = info["experiment_id"], info["run_id"]
        target = f"{base}/mlflow-artifacts/artifacts/{experiment}/{run_id}/artifacts/notes.txt"
        put = client.put(target, content=b"hello", headers={"Content-Type": "text/plain"})
        assert put.status_code == 200, put.text
        assert client.get(target).content == b"hello"
        # a browser sends Origin / Sec-Fetch-*: the content-type rule applies to it
        host = httpx.URL(team.url).netloc.decode()
        for browser in ({"Origin": f"http://{host}"}, {"Sec-Fetch-Site": "same-origin"}):
            refused = client.put(
                target.replace("notes", "b"),
                content=b"x",
                headers={"Content-Type": "text/plain", **browser},
            )
            assert refused.status_code == 415, refused.text
        # without a token the rule applies too, before authentication
        anonymous = web.put(
            team.url + target.replace("notes", "c"),
            content=b"x",
            headers={"Content-Type": "text/plain"},
        )
        assert anonymous.status_code == 415, anonymous.text
        # and POST keeps it even with a token
        post = client.post(
            f"{base}/mlflow/runs/create", content=b"{}", headers={"Content-Type": "text/plain"}
        )
        assert post.status_code == 415, post.text
