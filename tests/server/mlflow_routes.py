"""Moved to tests/helpers/mlflow_routes.py; kept so that tests written before the move import."""

from tests.helpers.mlflow_routes import MLFLOW_PREFIXES, is_mlflow_path

__all__ = ["MLFLOW_PREFIXES", "is_mlflow_path"]
