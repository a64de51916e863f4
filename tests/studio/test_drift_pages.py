"""The Studio's data drift pages over HTTP: the detectors of a workspace and one
detector's windows, seeded as ``atelier.monitoring`` stores them (a ``datadrift.<name>``
schedule; window runs of ``<name>-Monitor-Runs`` with metrics and outputs/datadrift.json),
with empty states and malformed stored data."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from markupsafe import escape
from sqlalchemy import select

from atelier.core.status import RunStatus
from atelier.core.timeutil import now_ms
from atelier.services import artifacts, metrics, run_transitions, runs, schedules, workspaces
from atelier.store.models import ScheduleRow
from tests.helpers.studio_data import NASTY
from tests.studio.conftest import WORKSPACE, Studio

HTML = {"Accept": "text/html"}
WS = f"/workspaces/{WORKSPACE}"


def _detector(studio: Studio, name: str, status: str = "Disabled") -> None:
    def form(label: str) -> dict[str, Any]:
        return {"definition": {"sources": []}, "label": label, "key": label}

    definition = {
        "baseline": form(f"train:1 {NASTY}"),
        "target": form("live:3"),
        "frequency": "Day",
        "drift_threshold": 0.3,
    }
    spec = {
        "name": f"datadrift.{name}",
        "target_kind": "datadrift",
        "target_id": name,
        "target_definition": definition,
        "experiment_name": f"{name}-Monitor-Runs",
        "recurrence": {"frequency": "Day", "interval": 1},
        "status": status,
    }
    with studio.database.session() as session:
        schedules.create(session, WORKSPACE, spec, now=now_ms())


def _window(
    studio: Studio, name: str, day: int, magnitude: float | None, document: bytes | None
) -> str:
    start, end = f"2026-06-0{day}T00:00:00", f"2026-06-0{day + 1}T00:00:00"
    with studio.database.session() as session:
        run = runs.create(
            session,
            WORKSPACE,
            f"{name}-Monitor-Runs",
            run_type="azureml.DataDrift",
            display_name=f"2026-06-0{day} day",
            properties={
                "datadrift.detector": name,
                "datadrift.window": f"{start}/{end}",
                "datadrift.start": start,
                "datadrift.end": end,
            },
        )
        logged = {"target_rows": ([0], [100.0], [0])}
        if magnitude is not None:
            logged["drift_magnitude"] = ([0], [magnitude], [0])
        metrics.log_scalars(session, WORKSPACE, run.run_id, logged)
        if document is not None:
            artifacts.upload(
                session,
                studio.blobs,
                WORKSPACE,
                run.run_id,
                "outputs/datadrift.json",
                io.BytesIO(document),
            )
        run_transitions.transition(session, WORKSPACE, run.run_id, RunStatus.COMPLETED)
    return run.run_id


def _document(magnitude: float) -> bytes:
    features = {
        "x": {"kind": "numeric", "contribution": 0.7, "wasserstein_distance": 2.9,
              "p_value_corrected": 1e-9, "drifted": True},
        "y": {"kind": "numeric", "contribution": 0.1, "wasserstein_distance": 0.01,
              "p_value_corrected": 0.8, "drifted": False},
        NASTY: {"kind": "categorical", "contribution": 0.2, "psi": 0.4, "drifted": False},
    }  # fmt: skip
    body = {"has_drift": True, "drift_magnitude": magnitude, "empty": False, "features": features}
    return json.dumps(body).encode()


def test_drift_pages_show_detectors_magnitude_over_time_and_top_features(
    studio: Studio,
) -> None:
    _detector(studio, "web", status="Active")
    first = _window(studio, "web", 1, 12.5, json.dumps({"features": {}}).encode())
    remeasured = _window(studio, "web", 1, 14.0, json.dumps({"features": {}}).encode())
    empty = _window(studio, "web", 2, None, json.dumps({"empty": True, "features": {}}).encode())
    latest = _window(studio, "web", 3, 81.0, _document(81.0))
    with studio.bearer("reader") as client:
        listing = client.get(f"{WS}/drift", headers=HTML)
        page = client.get(f"{WS}/drift/web", headers=HTML)
        absent = client.get(f"{WS}/drift/nosuch", headers=HTML)
    assert listing.status_code == 200
    row = re.search(r'<tr data-detector="web">(.*?)</tr>', listing.text, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[2:6] == ["live:3", "Day", "0.3", '<span class="status running">Enabled</span>']
    assert f"/runs/{latest}" in cells[6] and cells[7] == "81"
    assert "&lt;script&gt;" in listing.text and "<script>alert" not in listing.text
    assert f'href="{WS}/drift"' in listing.text  # the side navigation
    assert listing.headers["x-frame-options"] == "DENY"

    assert page.status_code == 200, page.text
    html = page.text
    # one row per window, newest first; a window measured twice shows its latest measurement
    row_start = r'<tr data-run="([^"]+)" data-start-ms="(\d+)" data-magnitude="([^"]*)"'
    windows = re.findall(row_start, html)
    assert [w[0] for w in windows] == [latest, empty, remeasured]
    assert [w[2] for w in windows] == ["81.0", "", "14.0"]
    assert first not in html
    assert 'id="drift-chart" data-table="drift-windows" data-threshold="30.0"' in html
    features = re.findall(r'<tr data-feature="([^"]*)">', html)
    assert features == ["x", str(escape(NASTY)), "y"]
    assert '<th class="num">contribution</th><th class="num">wasserstein_distance' in html
    assert 'id="has-drift">drift<' in html
    assert f'href="{WS}/runs/{latest}" id="latest-window"' in html
    assert "<script>alert" not in html
    assert absent.status_code == 404 and "nosuch" in absent.text


def test_drift_pages_with_nothing_or_malformed_data_say_so(studio: Studio) -> None:
    _detector(studio, "odd")
    _detector(studio, "fresh")
    _window(studio, "odd", 1, 5.0, b"{not json")
    with studio.database.session() as session:
        row = session.scalars(select(ScheduleRow).where(ScheduleRow.name == "datadrift.odd")).one()
        row.target_definition = {"baseline": "x", "drift_threshold": "high", "frequency": 3}
        workspaces.create(session, "quiet")
    with studio.bearer("reader") as client:
        odd = client.get(f"{WS}/drift/odd", headers=HTML)
        fresh = client.get(f"{WS}/drift/fresh", headers=HTML)
        listing = client.get(f"{WS}/drift", headers=HTML)
    with studio.bearer("admin") as client:
        quiet = client.get("/workspaces/quiet/drift", headers=HTML)
    assert odd.status_code == 200, odd.text
    assert "not valid JSON" in odd.text and "threshold is not a number" in odd.text
    assert fresh.status_code == 200
    assert 'id="no-windows"' in fresh.text and 'id="drift-chart"' not in fresh.text
    assert listing.status_code == 200 and 'data-detector="odd"' in listing.text
    assert quiet.status_code == 200 and 'id="no-detectors"' in quiet.text
