"""What the Studio shows of data drift detectors, read from where ``atelier.monitoring``
keeps them: a detector is a schedule of target kind ``datadrift`` named
``datadrift.<name>`` (its ``target_definition`` holds the datasets, frequency and
threshold); each measured window is a completed run of the experiment
``<name>-Monitor-Runs`` with the property ``datadrift.detector``, the metrics
``drift_magnitude`` (0-100) and ``target_rows``, and the whole window as
``outputs/datadrift.json``.

Everything stored may have been written by any client: a value of the wrong shape becomes
a note on the page, never an error.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from atelier.core.errors import AtelierError, NotFoundError
from atelier.core.metric_names import DRIFT_FEATURE_METRICS
from atelier.core.records import RunQuery, RunRecord
from atelier.core.schedules import ACTIVE, ScheduleRecord
from atelier.core.status import RunStatus
from atelier.services import artifacts, run_queries, schedules
from atelier.storage.blobstore import BlobStore

__all__ = [
    "DOCUMENT",
    "KIND",
    "DetectorSummary",
    "DriftView",
    "FeatureRow",
    "Window",
    "drift_view",
    "list_detectors",
]

KIND = "datadrift"
PREFIX = "datadrift."
DOCUMENT = "outputs/datadrift.json"
#: the newest windows a detector's page reads (oldest of them first on the chart)
WINDOWS = 500
#: the features of the latest window listed, by contribution
TOP_FEATURES = 25
#: a window document larger than this is not read (the page says so)
MAX_DOCUMENT = 8 * 1024 * 1024
#: per-feature metrics in this order when present (then any other numbers, by name)
FEATURE_METRICS = DRIFT_FEATURE_METRICS


@dataclass(frozen=True, slots=True)
class Window:
    run: RunRecord
    start: str
    end: str
    magnitude: float | None
    target_rows: float | None

    @property
    def start_ms(self) -> int:
        return self.run.created_ms if not self.start else _iso_ms(self.start, self.run.created_ms)


@dataclass(frozen=True, slots=True)
class DetectorSummary:
    name: str
    baseline: str
    target: str
    frequency: str
    threshold: float | None
    state: str
    latest: Window | None = None


@dataclass(frozen=True, slots=True)
class FeatureRow:
    name: str
    kind: str
    drifted: bool | None
    metrics: dict[str, float | None]


@dataclass(slots=True)
class DriftView:
    detector: DetectorSummary
    windows: list[Window]
    features: list[FeatureRow] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)
    has_drift: bool | None = None
    feature_count: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def latest(self) -> Window | None:
        return self.windows[-1] if self.windows else None


def _iso_ms(text: str, default: int) -> int:
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return default
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _label(form: Any) -> str:
    found = _mapping(form).get("label")
    return str(found) if found is not None else "?"


def _summary(record: ScheduleRecord) -> DetectorSummary:
    definition = _mapping(record.target_definition)
    threshold = _finite(definition.get("drift_threshold"))
    return DetectorSummary(
        name=str(record.target_id or record.name.removeprefix(PREFIX)),
        baseline=_label(definition.get("baseline")),
        target=_label(definition.get("target")),
        frequency=str(definition.get("frequency") or _mapping(record.recurrence).get("frequency")),
        threshold=threshold,
        state="Enabled" if record.status == ACTIVE else "Disabled",
    )


def _is_detector(record: ScheduleRecord) -> bool:
    return record.target_kind == KIND and record.name.startswith(PREFIX)


def _windows(session: Session, workspace: str, name: str, limit: int | None) -> list[Window]:
    """The latest measurement of each of the detector's windows, oldest window first."""
    query = RunQuery(
        status=(RunStatus.COMPLETED,),
        # a backfill's parent run names the detector too, but measures no window
        properties={"datadrift.detector": name, "datadrift.window": None},
        include_children=True,
        limit=limit,
        with_latest_metrics=True,
    )
    try:
        found = run_queries.list_runs(session, workspace, f"{name}-Monitor-Runs", query)
    except NotFoundError:  # no window measured yet: the experiment does not exist
        return []
    seen: dict[str, Window] = {}
    for run in found:  # newest first: the first run of a window is its latest measurement
        key = run.properties["datadrift.window"]
        if key in seen:
            continue
        metrics = run.latest_metrics or {}
        seen[key] = Window(
            run=run,
            start=run.properties.get("datadrift.start", ""),
            end=run.properties.get("datadrift.end", ""),
            magnitude=_finite(metrics.get("drift_magnitude")),
            target_rows=_finite(metrics.get("target_rows")),
        )
    return sorted(seen.values(), key=lambda w: (w.start_ms, w.run.created_ms))


def list_detectors(session: Session, workspace: str) -> list[DetectorSummary]:
    """The workspace's detectors by name, each with its latest measured window."""
    found = []
    for record in schedules.list_all(session, workspace, active_only=False):
        if not _is_detector(record):
            continue
        summary = _summary(record)
        windows = _windows(session, workspace, summary.name, limit=20)
        found.append(
            DetectorSummary(
                name=summary.name,
                baseline=summary.baseline,
                target=summary.target,
                frequency=summary.frequency,
                threshold=summary.threshold,
                state=summary.state,
                latest=windows[-1] if windows else None,
            )
        )
    return found


def drift_view(session: Session, blobs: BlobStore, workspace: str, name: str) -> DriftView:
    """The detector ``name``: its windows and the features of its latest window;
    ``NotFoundError`` when there is no such detector."""
    try:
        record = schedules.get(session, workspace, PREFIX + name)
    except NotFoundError:
        record = None
    if record is None or not _is_detector(record):
        raise NotFoundError(f"no data drift detector {name!r} in workspace {workspace!r}")
    view = DriftView(detector=_summary(record), windows=_windows(session, workspace, name, WINDOWS))
    if view.detector.threshold is None:
        view.notes.append("The detector's stored threshold is not a number.")
    latest = view.latest
    if latest is not None:
        _read_latest(session, blobs, workspace, latest, view)
    return view


def _read_latest(
    session: Session, blobs: BlobStore, workspace: str, latest: Window, view: DriftView
) -> None:
    try:
        stored = artifacts.get(session, workspace, latest.run.run_id, DOCUMENT)
        if stored.size > MAX_DOCUMENT:
            view.notes.append(f"The latest window's {DOCUMENT} is too large to show here.")
            return
        with blobs.open(stored.digest) as handle:
            document = json.loads(handle.read(MAX_DOCUMENT + 1))
    except AtelierError:
        view.notes.append(f"The latest window has no {DOCUMENT}: its features cannot be shown.")
        return
    except ValueError:
        view.notes.append(f"The latest window's {DOCUMENT} is not valid JSON.")
        return
    if not isinstance(document, dict) or not isinstance(document.get("features", {}), dict):
        view.notes.append(f"The latest window's {DOCUMENT} is not a drift measurement.")
        return
    has_drift = document.get("has_drift")
    view.has_drift = has_drift if isinstance(has_drift, bool) else None
    if document.get("empty") is True:
        view.notes.append("The latest window held no target rows: nothing was measured.")
    rows = []
    for feature, stored in _mapping(document.get("features")).items():
        metric = _mapping(stored)
        numbers = {k: _finite(v) for k, v in metric.items() if k not in ("kind", "drifted")}
        drifted = metric.get("drifted")
        rows.append(
            FeatureRow(
                name=str(feature),
                kind=str(metric.get("kind") or ""),
                drifted=drifted if isinstance(drifted, bool) else None,
                metrics=numbers,
            )
        )
    rows.sort(key=lambda r: (-(r.metrics.get("contribution") or 0.0), r.name))
    view.feature_count = len(rows)
    view.features = rows[:TOP_FEATURES]
    present = {k for r in view.features for k, v in r.metrics.items() if v is not None}
    view.metric_names = [m for m in FEATURE_METRICS if m in present] + sorted(
        present - set(FEATURE_METRICS)
    )
