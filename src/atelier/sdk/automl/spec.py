"""An AutoML experiment described in a YAML file (``atelier automl submit -f automl.yml``)::

experiment: iris-automl
task: classification
training_data: iris.csv           # CSV or Parquet, relative to this file ...
# training_data: {dataset: iris, version: 1}   # ... or a registered TabularDataset
label_column_name: target
primary_metric: AUC_weighted
iterations: 10                    # any other AutoMLConfig argument, by azureml's name
n_cross_validations: 3
experiment_timeout_minutes: 1
allowed_models: [LightGBM, LogisticRegression]
forecasting_parameters: {time_column_name: day, forecast_horizon: 7}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from atelier.core.errors import NotFoundError, ValidationError
from atelier.sdk.automl.config import AutoMLConfig
from atelier.sdk.automl.featurization import FeaturizationConfig
from atelier.sdk.automl.forecasting import ForecastingParameters

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

__all__ = ["AutoMLSpec", "load_automl"]


@dataclass
class AutoMLSpec:
    experiment: str
    config: AutoMLConfig


def _table(value: Any, folder: Path, ws: Workspace, what: str) -> Any:
    import pandas as pd

    if isinstance(value, dict) and set(value) <= {"dataset", "version"} and "dataset" in value:
        from atelier.sdk.data.dataset import Dataset

        return Dataset.get_by_name(ws, str(value["dataset"]), value.get("version", "latest"))
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{what} must be a file path or {{dataset: NAME, version: N}}")
    path = Path(value) if Path(value).is_absolute() else folder / value
    if not path.is_file():
        raise NotFoundError(f"{what} file {path} does not exist")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (ValueError, OSError) as exc:
        raise ValidationError(f"{what} file {path} cannot be read as a table: {exc}") from None


def load_automl(file: Path, ws: Workspace) -> AutoMLSpec:
    """The experiment name and the ``AutoMLConfig`` the file describes; ``ValidationError``
    for a file that is not a mapping or names an unknown setting."""
    if not file.is_file():
        raise NotFoundError(f"AutoML file {file} does not exist")
    try:
        spec = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationError(f"{file} is not valid YAML: {exc}") from None
    if not isinstance(spec, dict):
        raise ValidationError(f"{file} must hold a mapping of AutoMLConfig settings")
    settings = dict(spec)
    experiment = settings.pop("experiment", None)
    if not isinstance(experiment, str) or not experiment:
        raise ValidationError(f"{file} must name its experiment: 'experiment: NAME'")
    folder = file.parent
    if "training_data" not in settings:
        raise ValidationError(f"{file} must give training_data")
    settings["training_data"] = _table(settings["training_data"], folder, ws, "training_data")
    if settings.get("validation_data") is not None:
        settings["validation_data"] = _table(
            settings["validation_data"], folder, ws, "validation_data"
        )
    forecasting = settings.get("forecasting_parameters")
    if isinstance(forecasting, dict):
        settings["forecasting_parameters"] = ForecastingParameters(**forecasting)
    featurization = settings.get("featurization")
    if isinstance(featurization, dict):
        settings["featurization"] = FeaturizationConfig(**featurization)
    if "task" not in settings:
        raise ValidationError(f"{file} must give task: classification, regression or forecasting")
    try:
        config = AutoMLConfig(**settings)
    except TypeError as exc:
        raise ValidationError(f"{file}: {exc}") from None
    return AutoMLSpec(experiment, config)
