"""``DataDriftDetector`` on the embedded backend (SQLite): a detector made, found, changed
and backfilled; windows read back in azureml's shapes; an alert mailed to a real SMTP
server on loopback once per window; the scheduler measuring a window; an endpoint's
collected inputs as the target; bad input refused with what to fix."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from atelier import Dataset, Workspace
from atelier.azureml.datadrift import AlertConfiguration, DataDriftDetector
from atelier.client.registry import reporting_for
from atelier.core.errors import (
    AlreadyExistsError,
    DataDriftSchemaError,
    NotFoundError,
    ValidationError,
)
from atelier.core.timeutil import now_ms
from atelier.monitoring import collected_data
from atelier.scheduler.engine import Scheduler
from tests.conftest import unique

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
DAY = 86_400_000


def write(folder: Path, name: str, frame: pd.DataFrame) -> str:
    path = folder / f"{name}.parquet"
    frame.to_parquet(path)
    return str(path)


def baseline_frame(rows: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(0, 1, rows),
            "y": rng.normal(5, 2, rows),
            "c": rng.choice(["a", "b"], rows),
        }
    )


def target_frame(start: datetime, days: int, shifted_from: int, per_day: int = 600) -> pd.DataFrame:
    """``per_day`` rows a day for ``days`` days; ``x`` shifted by 2 from day ``shifted_from``."""
    frames = []
    for day in range(days):
        part = baseline_frame(per_day, seed=100 + day)
        if day >= shifted_from:
            part["x"] += 2.0
        part["ts"] = start + timedelta(days=day) + pd.to_timedelta(np.arange(per_day) * 60, "s")
        frames.append(part)
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def datasets(ws: Workspace, tmp_path: Path) -> tuple[Any, Any]:
    base = Dataset.Tabular.from_parquet_files(write(tmp_path, "base", baseline_frame()))
    target = Dataset.Tabular.from_parquet_files(
        write(tmp_path, "target", target_frame(datetime(2026, 3, 2), 2, shifted_from=1))
    ).with_timestamp_columns(timestamp="ts")
    return base, target


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


class Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Hooks.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        del args


@pytest.fixture
def webhook() -> Iterator[str]:
    Hooks.received.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, mailbox
    controller.stop()


def test_detector_journey_with_an_alert_mailed_once(
    home: Path, datasets: tuple[Any, Any], smtp: tuple[int, Mailbox], webhook: str
) -> None:
    port, mailbox = smtp
    # the workspace names its SMTP server
    ws = Workspace.create(unique("mail"), tags={"smtp_host": "127.0.0.1", "smtp_port": str(port)})
    base, target = datasets
    detector = DataDriftDetector.create_from_datasets(
        ws,
        "sales",
        base,
        target,
        frequency="Day",
        drift_threshold=0.3,
        alert_config=AlertConfiguration(["ops@example.com"], webhook_url=webhook),
    )
    assert detector.state == "Disabled" and detector.frequency == "Day"
    assert [d.name for d in DataDriftDetector.list(ws)] == ["sales"]
    assert DataDriftDetector.list(ws, baseline_dataset=target) == []

    run = detector.backfill("2026-03-01", datetime(2026, 3, 5))
    assert run.get_status() == "Completed"
    assert len(run.get_children()) == 4

    results, metrics = detector.get_output()
    windows = results[0]["result"]
    assert results[0]["drift_type"] == "DatasetBased"
    assert [w["start_date"][:10] for w in windows] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
    ]
    # no data on the 1st and 4th: empty, not "no drift"
    assert [w["empty"] for w in windows] == [True, False, False, True]
    assert [w["has_drift"] for w in windows] == [None, False, True, None]
    assert windows[2]["drift_coefficient"] > 0.3 and windows[2]["drifted_features"] == ["x"]
    column_metrics = metrics[0]["metrics"][2]["column_metrics"]
    x = {m["name"]: m["value"] for m in next(c["x"] for c in column_metrics if "x" in c)}
    assert x["drifted"] is True and x["contribution"] > 0.5 and x["wasserstein_distance"] > 1
    assert {"energy_distance", "psi", "jensen_shannon_distance", "p_value_corrected"} <= set(x)

    assert len(mailbox.messages) == 1
    assert mailbox.messages[0].rcpt_tos == ["ops@example.com"]
    assert b"sales" in mailbox.messages[0].content
    [posted] = Hooks.received
    assert posted["detector"] == "sales" and posted["drifted_features"] == ["x"]
    # measuring the drifted window again sends no second alert
    again = DataDriftDetector.get_by_name(ws, "sales").run("2026-03-03T12:00:00")
    assert again.get_metrics()["drift_magnitude"] > 30
    assert len(mailbox.messages) == 1 and len(Hooks.received) == 1
    # the latest measurement of each window wins; a span narrows what is read back
    narrowed, _ = detector.get_output(start_time="2026-03-03", end_time="2026-03-04")
    assert [w["run_id"] for w in narrowed[0]["result"]] == [again.id]

    detector.update(drift_threshold=0.9, feature_list=["x"])
    found = DataDriftDetector(ws, "sales")  # azureml's constructor finds it too
    assert found.drift_threshold == 0.9 and found.feature_list == ["x"]
    found.enable_schedule()
    assert DataDriftDetector.get_by_name(ws, "sales").state == "Enabled"
    found.disable_schedule()
    assert DataDriftDetector.get_by_name(ws, "sales").enabled is False
    figures = found.show()
    assert set(figures) == {"drift_magnitude", "feature_contribution"}


def test_bad_input_is_refused_with_what_to_fix(
    ws: Workspace, datasets: tuple[Any, Any], tmp_path: Path
) -> None:
    base, target = datasets
    with pytest.raises(ValidationError, match="no timestamp column"):
        DataDriftDetector.create_from_datasets(ws, "d", base, base)
    with pytest.raises(ValidationError, match="frequency 'Hour'"):
        DataDriftDetector.create_from_datasets(ws, "d", base, target, frequency="Hour")
    other = Dataset.Tabular.from_parquet_files(
        write(tmp_path, "other", pd.DataFrame({"x": ["a"], "ts": [datetime(2026, 1, 1)]}))
    ).with_timestamp_columns("ts")
    with pytest.raises(DataDriftSchemaError) as caught:
        DataDriftDetector.create_from_datasets(ws, "d", base, other)
    assert any("'y'" in p for p in caught.value.problems)
    assert any("'c'" in p for p in caught.value.problems)
    detector = DataDriftDetector.create_from_datasets(ws, "d", base, target)
    with pytest.raises(AlreadyExistsError):
        DataDriftDetector.create_from_datasets(ws, "d", base, target)
    with pytest.raises(ValidationError, match="is not before end_date"):
        detector.backfill("2026-03-05", "2026-03-01")
    with pytest.raises(ValidationError, match="drift_threshold"):
        detector.update(drift_threshold=5)
    with pytest.raises(NotFoundError, match="atelier drift list"):
        DataDriftDetector.get_by_name(ws, "nope")
    with pytest.raises(ValidationError, match="not an email address"):
        AlertConfiguration(["not-an-address"])


def test_the_scheduler_measures_the_last_window(ws: Workspace, tmp_path: Path) -> None:
    today = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
    base = Dataset.Tabular.from_parquet_files(write(tmp_path, "base", baseline_frame(800)))
    target = Dataset.Tabular.from_parquet_files(
        write(
            tmp_path, "t", target_frame(today - timedelta(days=3), 4, shifted_from=9, per_day=300)
        )
    ).with_timestamp_columns("ts")
    detector = DataDriftDetector.create_from_datasets(ws, "daily", base, target, frequency="Day")
    detector.enable_schedule()
    fired = Scheduler(clock=lambda: now_ms() + 2 * DAY).run_once()
    mine = [f for f in fired if f.workspace_name == ws.name]
    assert len(mine) == 1 and mine[0].error is None, mine
    results, _ = detector.get_output()
    [window] = results[0]["result"]
    assert window["run_id"] == mine[0].run_id
    # the slot fired is a day after the schedule was enabled: the window that ended then
    slot = datetime.fromtimestamp(mine[0].slot_ms / 1000, UTC).replace(tzinfo=None)
    expected = slot.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    assert window["start_date"] == expected.isoformat()
    assert window["has_drift"] is False and not window["empty"]
    detector.disable_schedule()


def test_collected_inputs_are_a_timestamped_target(ws: Workspace, tmp_path: Path) -> None:
    ws._backend.endpoints.create(
        ws.name, "svc", kind="local", port=18001, auth_enabled=False, config={}
    )
    ws._backend.endpoints.put_deployment(ws.name, "svc", "blue", {}, [])
    rng = np.random.default_rng(1)
    stamps = [datetime(2026, 4, 1, 9, tzinfo=UTC), datetime(2026, 4, 2, 9, tzinfo=UTC)]
    table = pa.table(
        {
            "timestamp": pa.array(stamps, pa.timestamp("ms", tz="UTC")),
            "request_id": ["r1", "r2"],
            "status": pa.array([200, 200], pa.int16()),
            "input": [
                json.dumps({"data": rng.normal([0, 5], [1, 2], (200, 2)).tolist()}),
                json.dumps({"data": (rng.normal([0, 5], [1, 2], (200, 2)) + 3).tolist()}),
            ],
            "prediction": ["[]", "[]"],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    reporting_for().write_model_data(ws.name, "svc", "blue", "2026-04-01", sink.getvalue())
    live = collected_data(ws, "svc", columns=["x", "y"])
    assert live.to_pandas_dataframe().shape == (400, 3)
    base = Dataset.Tabular.from_parquet_files(
        write(tmp_path, "base", baseline_frame(600)[["x", "y"]])
    )
    detector = DataDriftDetector.create_from_datasets(ws, "live", base, live, frequency="Day")
    detector.backfill("2026-04-01", "2026-04-03")
    results, _ = detector.get_output()
    assert [w["has_drift"] for w in results[0]["result"]] == [False, True]
    with pytest.raises(NotFoundError):
        collected_data(ws, "gone")
