"""A data drift detector over HTTP, against a real server: made, backfilled and read back
through the SDK as the workspace's Owner (the detector is a schedule, its windows are runs
with files), and only changed by those who may write."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from atelier import Dataset, Workspace
from atelier.azureml.datadrift import DataDriftDetector
from atelier.client.http.transport import write_credentials
from atelier.client.registry import reset_backends
from tests.server.conftest import Team

HTML = {"Accept": "text/html"}


@pytest.mark.parametrize("database", ["sqlite"])
def test_drift_journey_over_http(team: Team, home: Path, tmp_path: Path) -> None:
    write_credentials(team.url, team.owner.token, home)
    reset_backends()
    ws = Workspace.get(team.workspace)
    rng = np.random.default_rng(4)
    base = pd.DataFrame({"x": rng.normal(0, 1, 600), "c": rng.choice(["a", "b"], 600)})
    live = pd.DataFrame({"x": rng.normal(0, 1, 600), "c": rng.choice(["a", "b"], 600)})
    live.loc[300:, "x"] += 3
    live["ts"] = [
        datetime(2026, 6, 1) + timedelta(days=i // 300, minutes=i % 300) for i in range(600)
    ]
    base.to_parquet(tmp_path / "base.parquet")
    live.to_parquet(tmp_path / "live.parquet")
    detector = DataDriftDetector.create_from_datasets(
        ws,
        "web",
        Dataset.Tabular.from_parquet_files(str(tmp_path / "base.parquet")),
        Dataset.Tabular.from_parquet_files(str(tmp_path / "live.parquet")).with_timestamp_columns(
            "ts"
        ),
        frequency="Day",
    )
    detector.backfill("2026-06-01", "2026-06-03")
    results, metrics = DataDriftDetector.get_by_name(ws, "web").get_output()
    assert [w["has_drift"] for w in results[0]["result"]] == [False, True]
    assert metrics[0]["metrics"][1]["column_metrics"][0]["x"]
    detector.update(drift_threshold=0.5)
    assert DataDriftDetector.get_by_name(ws, "web").drift_threshold == 0.5

    # a Reader sees the detector's schedule but cannot change its definition
    path = f"/api/v1/workspaces/{team.workspace}/schedules/datadrift.web"
    change: dict[str, Any] = {"target_definition": {"drift_threshold": 0.9}}
    with team.reader.client(team.url) as client:
        assert client.get(path).status_code == 200
        # the Studio reads the windows the SDK wrote: the latest drifted, led by x
        studio = client.get(f"/workspaces/{team.workspace}/drift/web", headers=HTML)
        assert studio.status_code == 200, studio.text
        assert len(re.findall(r'<tr data-run="', studio.text)) == 2
        assert re.findall(r'<tr data-feature="(\w+)">', studio.text)[0] == "x"
        assert 'id="has-drift">drift<' in studio.text
        assert client.patch(path, json=change).status_code == 403
    with team.contributor.client(team.url) as client:
        # a definition may only replace a drift detector's; garbage is a 4xx, not a 5xx
        answer = client.patch(path, json={"target_definition": "nonsense"})
        assert answer.status_code == 422, answer.text
        answer = client.patch(path, json={"target_definition": {"frequency": "Day"}})
        assert answer.status_code == 400 and "baseline dataset" in answer.text, answer.text
