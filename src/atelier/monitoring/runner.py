"""Measuring a detector's windows: read both datasets once, summarize the baseline once,
then one run per window with its metrics, its document and, on drift, its alert."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from atelier.core.errors import AtelierError
from atelier.core.status import RunStatus
from atelier.monitoring import alerts
from atelier.monitoring.metrics import BaselineProfile
from atelier.monitoring.reading import read_tables
from atelier.sdk.tracking.experiment import Experiment
from atelier.sdk.tracking.run import Run

if TYPE_CHECKING:
    from atelier.monitoring.detector import DataDriftDetector

RUN_TYPE = "azureml.DataDrift"
ALERTED = "datadrift.alerted"
ALERT_ERROR = "datadrift.alert_error"
_log = logging.getLogger("atelier.datadrift")


def _ms(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def window_key(start: datetime, end: datetime) -> str:
    return f"{start.isoformat()}/{end.isoformat()}"


def measure_windows(
    detector: DataDriftDetector,
    spans: list[tuple[datetime, datetime]],
    parent: Run | None,
    feature_list: list[str] | None,
    threshold: float | None,
) -> list[Run]:
    """One completed run per window (children of ``parent`` when given)."""
    baseline, target, plan, stamps = read_tables(
        detector.baseline_dataset, detector.target_dataset, feature_list
    )
    profile = BaselineProfile.from_table(baseline, plan)
    limit = detector.drift_threshold if threshold is None else threshold
    experiment = Experiment(detector.workspace, detector.experiment_name)
    runs = []
    for start, end in spans:
        mask = (stamps >= _ms(start)) & (stamps < _ms(end))
        window = target.filter(mask) if mask.any() else target.slice(0, 0)
        document = profile.compare(window, limit)
        document.update(
            start_date=start.isoformat(),
            end_date=end.isoformat(),
            frequency=detector.frequency,
            base_dataset_id=detector._definition["baseline"].get("key"),
            target_dataset_id=detector._definition["target"].get("key"),
        )
        runs.append(_record_window(detector, experiment, parent, document))
    return runs


def _record_window(
    detector: DataDriftDetector,
    experiment: Experiment,
    parent: Run | None,
    document: dict[str, Any],
) -> Run:
    workspace = detector.workspace
    key = f"{document['start_date']}/{document['end_date']}"
    record = workspace._backend.runs.create(
        workspace.name,
        experiment.name,
        parent_run_id=None if parent is None else parent.id,
        status=RunStatus.RUNNING,
        run_type=RUN_TYPE,
        display_name=f"{document['start_date'][:10]} {detector.frequency.lower()}",
        properties={
            "datadrift.detector": detector.name,
            "datadrift.window": key,
            "datadrift.start": document["start_date"],
            "datadrift.end": document["end_date"],
        },
        tags={"datadrift.empty": "true"} if document["empty"] else None,
    )
    run = Run(experiment, record.run_id, _record=record)
    try:
        run.log("target_rows", document["target_rows"])
        if document["drift_magnitude"] is not None:
            run.log("drift_magnitude", document["drift_magnitude"])
            run.log("datadrift_coefficient", document["datadrift_coefficient"])
        body = json.dumps(document, default=_plain).encode()
        run.upload_file("outputs/datadrift.json", io.BytesIO(body))
    except BaseException as exc:
        run.fail(exc)
        raise
    run.complete()
    if document["has_drift"]:
        _alert(detector, experiment, run, key, document)
    return run


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _alert(
    detector: DataDriftDetector, experiment: Experiment, run: Run, key: str, doc: dict[str, Any]
) -> None:
    """Send the window's alert unless a run of the same window already sent it."""
    config = detector.alert_config
    if config is None or not (config.email_addresses or config.webhook_url):
        return
    for earlier in experiment.get_runs(
        properties={"datadrift.window": key}, tags=[ALERTED], include_children=True
    ):
        if earlier.id != run.id:
            return
    try:
        sent = alerts.send(detector.workspace, config, alerts.summary(detector.name, doc))
    except AtelierError as exc:
        _log.warning("drift alert of %s (%s) not sent: %s", detector.name, key, exc.message)
        run.set_tags({ALERT_ERROR: exc.message[:500]})
        return
    run.set_tags({ALERTED: ",".join(sent)})
