"""Deleting a workspace stops its endpoints: no router or replica keeps serving (and
logging errors) for a workspace that is gone."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from atelier import Model, NotFoundError, Workspace
from atelier.sdk.models.local_service import LocalWebserviceDeploymentConfiguration
from tests.helpers import web
from tests.serving.test_endpoint import SCORE, _config, _gone, _model


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_deleting_a_workspace_stops_its_endpoints(ws: Workspace, tmp_path: Path) -> None:
    model = _model(ws, tmp_path, 3)
    config = LocalWebserviceDeploymentConfiguration(port=0)
    service = Model.deploy(ws, "coef-gone", [model], _config(tmp_path, SCORE), config)
    service.wait_for_deployment(timeout_sec=60)
    manager = service._record.manager_pid
    url = service.scoring_uri
    key = service.get_keys()[0]
    answer = web.post(url, json={"data": [2]}, headers={"Authorization": f"Bearer {key}"})
    assert answer.json() == [6]
    ws.delete()
    assert _gone(manager)
    with pytest.raises(httpx.HTTPError):
        web.post(url, json={"data": [2]}, timeout=5)
    with pytest.raises(NotFoundError):
        Workspace.get(ws.name)
