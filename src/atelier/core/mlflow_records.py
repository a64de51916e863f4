"""Records of the MLflow protocol's view of Atelier's runs and models: plain data."""

from __future__ import annotations

from dataclasses import dataclass, field

from atelier.core.records import ModelRecord, RunRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class LatestMetric:
    """A series' last logged point, as MLflow lists a run's metrics."""

    key: str
    value: float
    step: int
    timestamp_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MlflowRun:
    """An Atelier run with its latest metrics and the model outputs MLflow shows."""

    run: RunRecord
    metrics: list[LatestMetric] = field(default_factory=list)
    model_outputs: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggedModelRecord:
    """A model the mlflow client logged; its files are the run's files below ``artifact_path``."""

    id: str
    experiment_id: str
    run_id: str
    name: str
    model_type: str | None
    status: str
    artifact_path: str
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisteredModelRecord:
    """A registered model: its own metadata and its versions (Atelier registry rows)."""

    name: str
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    created_ms: int
    updated_ms: int
    latest: ModelRecord | None = None
