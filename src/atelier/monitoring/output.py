"""A detector's measured windows, read back: azureml's ``get_output`` shapes and the
figures of ``show``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.metric_names import DRIFT_FEATURE_METRICS

if TYPE_CHECKING:
    from atelier.monitoring.detector import DataDriftDetector

DRIFT_TYPE = "DatasetBased"
#: the per-feature metrics reported as azureml's column_metrics, in this order
COLUMN_METRICS = DRIFT_FEATURE_METRICS
QUALITY_METRICS = (
    "missing",
    "missing_fraction",
    "out_of_range",
    "new_category_count",
    "new_category_rows",
    "type_errors",
)


@dataclass
class DetectorOutput:
    """The latest measurement of each window in a span, oldest window first."""

    detector_name: str
    documents: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def collect(
        cls,
        detector: DataDriftDetector,
        start: datetime | None,
        end: datetime | None,
        run_id: str | None,
    ) -> DetectorOutput:
        from atelier.sdk.tracking.experiment import Experiment

        experiment = Experiment(detector.workspace, detector.experiment_name)
        runs = list(
            experiment.get_runs(
                properties={"datadrift.detector": detector.name}, include_children=True
            )
        )
        if run_id is not None:
            runs = [r for r in runs if run_id in (r.id, r._record.parent_run_id)]
            if not runs:
                raise ValidationError(f"run {run_id!r} is not a run of detector {detector.name!r}")
        seen: dict[str, dict[str, Any]] = {}
        for run in runs:  # newest first: the first of each window is its latest measurement
            properties = run._record.properties
            key = properties.get("datadrift.window")
            if key is None or key in seen or run._record.status != "Completed":
                continue
            window_start = datetime.fromisoformat(properties["datadrift.start"])
            window_end = datetime.fromisoformat(properties["datadrift.end"])
            if (start is not None and window_end <= start) or (
                end is not None and window_start >= end
            ):
                continue
            document = detector.window_documents(run)
            document["run_id"] = run.id
            seen[key] = document
        ordered = sorted(seen.values(), key=lambda d: d["start_date"])
        return cls(detector.name, ordered)

    def azureml_shapes(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        results = []
        metrics = []
        for doc in self.documents:
            results.append(
                {
                    "has_drift": doc["has_drift"],
                    "datetime": doc["start_date"],
                    "start_date": doc["start_date"],
                    "end_date": doc["end_date"],
                    "drift_type": DRIFT_TYPE,
                    "drift_threshold": doc["drift_threshold"],
                    "drift_coefficient": doc["datadrift_coefficient"],
                    "drift_magnitude": doc["drift_magnitude"],
                    "base_dataset_id": doc.get("base_dataset_id"),
                    "target_dataset_id": doc.get("target_dataset_id"),
                    "empty": doc["empty"],
                    "drifted_features": doc["drifted_features"],
                    "run_id": doc.get("run_id"),
                }
            )
            metrics.append(
                {
                    "schema_version": "0.1",
                    "start_date": doc["start_date"],
                    "end_date": doc["end_date"],
                    "base_dataset_id": doc.get("base_dataset_id"),
                    "target_dataset_id": doc.get("target_dataset_id"),
                    "dataset_metrics": _dataset_metrics(doc),
                    "column_metrics": _column_metrics(doc),
                }
            )
        if not results:
            return [], []
        return (
            [{"drift_type": DRIFT_TYPE, "result": results}],
            [{"drift_type": DRIFT_TYPE, "metrics": metrics}],
        )

    def figures(self) -> dict[str, Any]:
        try:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            from atelier.core.errors import MissingExtraError

            raise MissingExtraError(
                "show() draws with matplotlib: pip install 'atelier-ml[plot]'"
            ) from None
        measured = [d for d in self.documents if d["drift_magnitude"] is not None]
        magnitude, axes = plt.subplots(figsize=(8, 3))
        axes.plot(
            [d["start_date"][:10] for d in measured],
            [d["drift_magnitude"] for d in measured],
            marker="o",
            label="drift magnitude",
        )
        if self.documents:
            axes.axhline(100 * self.documents[-1]["drift_threshold"], color="red", ls="--")
        axes.set_ylim(0, 100)
        axes.set_title(f"{self.detector_name}: drift magnitude")
        magnitude.autofmt_xdate()
        totals: dict[str, float] = {}
        for doc in measured:
            for name, metric in doc["features"].items():
                totals[name] = totals.get(name, 0.0) + (metric.get("contribution") or 0.0)
        top = sorted(totals.items(), key=lambda item: -item[1])[:10]
        contribution, bars = plt.subplots(figsize=(8, 3))
        bars.barh([n for n, _ in top][::-1], [v / max(len(measured), 1) for _, v in top][::-1])
        bars.set_title(f"{self.detector_name}: feature contribution")
        return {"drift_magnitude": magnitude, "feature_contribution": contribution}


def _dataset_metrics(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": "datadrift_coefficient", "value": doc["datadrift_coefficient"]},
        {"name": "drift_magnitude", "value": doc["drift_magnitude"]},
        {"name": "target_rows", "value": doc["target_rows"]},
        {"name": "baseline_rows", "value": doc["baseline_rows"]},
        {"name": "drifted_feature_count", "value": len(doc["drifted_features"])},
    ]


def _column_metrics(doc: dict[str, Any]) -> list[dict[str, list[dict[str, Any]]]]:
    columns = []
    for name, metric in doc["features"].items():
        entries = [{"name": key, "value": metric[key]} for key in COLUMN_METRICS if key in metric]
        entries.append({"name": "test", "value": metric.get("test")})
        entries.append({"name": "drifted", "value": metric.get("drifted")})
        quality = doc["quality"].get(name, {})
        entries.extend(
            {"name": key, "value": quality[key]} for key in QUALITY_METRICS if key in quality
        )
        columns.append({name: entries})
    return columns
