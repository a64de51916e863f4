"""An SSH compute target's address and username end up on the ``ssh`` command line: REST
refuses any with option or shell syntax (400), and stores nothing."""

from __future__ import annotations

from tests.server.conftest import Team


def test_an_ssh_address_with_option_syntax_is_refused_over_rest(team: Team) -> None:
    with team.contributor.client(team.url) as client:
        for config in (
            {"address": "-oProxyCommand=touch pwned"},
            {"address": "127.0.0.1", "username": "-oProxyCommand=x"},
        ):
            answer = client.post(
                f"/api/v1/workspaces/{team.workspace}/computes",
                json={"name": "evil", "kind": "ssh", "config": config},
            )
            assert answer.status_code == 400, answer.text
            assert answer.json()["code"] == "validation_error"
        listed = client.get(f"/api/v1/workspaces/{team.workspace}/computes").json()["items"]
        assert "evil" not in [target["name"] for target in listed]
