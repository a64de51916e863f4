"""The pipeline routes refuse malformed graphs and unknown ids with 4xx, and a Reader may
look but not submit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.conftest import Team

STEP = {"name": "a", "definition": {"script": "a.py"}, "upstream": [], "snapshot_id": "s"}


@pytest.mark.parametrize("database", ["sqlite"])
def test_bad_graphs_unknown_ids_and_roles(team: Team) -> None:
    base = f"/api/v1/workspaces/{team.workspace}/pipelines"
    bad_graphs: list[Any] = [
        {},
        {"steps": []},
        {"steps": [1]},
        {"steps": [{**STEP, "upstream": ["missing"]}]},
        {"steps": [STEP], "parameters": {"p": [1]}},
        {"steps": [STEP], "parameters": []},
    ]
    with team.contributor.client(team.url) as client:
        for graph in bad_graphs:
            answer = client.post(f"{base}/published", json={"name": "p", "graph": graph})
            assert answer.status_code == 400, (graph, answer.text)
        assert client.post(f"{base}/published", json={"name": "", "graph": {"steps": [STEP]}}
                           ).status_code == 400  # fmt: skip
        made = client.post(f"{base}/published", json={"name": "p", "graph": {"steps": [STEP]}})
        assert made.status_code == 201, made.text
        pipeline_id = made.json()["id"]
        assert client.get(f"{base}/published/nope").status_code == 404
        assert client.post(f"{base}/published/nope/runs", json={"ExperimentName": "e"}
                           ).status_code == 404  # fmt: skip
        assert client.post(f"{base}/published/{pipeline_id}/runs", json={}).status_code == 422
        assert client.put(f"{base}/published/{pipeline_id}/status", json={"status": "Gone"}
                          ).status_code == 400  # fmt: skip
        assert client.get(f"{base}/endpoints/nope").status_code == 404
        endpoint = client.post(
            f"{base}/endpoints", json={"name": "ep", "description": "", "pipeline_id": pipeline_id}
        )
        assert endpoint.status_code == 201, endpoint.text
        again = client.post(
            f"{base}/endpoints", json={"name": "ep", "description": "", "pipeline_id": pipeline_id}
        )
        assert again.status_code == 409
        assert client.put(f"{base}/endpoints/ep/default", json={"version": 5}).status_code == 404
        assert client.post(f"{base}/endpoints/ep/runs", json={"ExperimentName": "e",
                           "PipelineVersion": "9"}).status_code == 404  # fmt: skip
    with team.reader.client(team.url) as client:
        assert client.get(f"{base}/published/{pipeline_id}").status_code == 200
        refused = client.post(f"{base}/published/{pipeline_id}/runs", json={"ExperimentName": "e"})
        assert refused.status_code == 403
