"""The MLflow protocol's entry point for the server: ``mount_mlflow(app, authorize)``."""

from __future__ import annotations

from atelier.server.mlflow import Authorize, mount_mlflow

__all__ = ["Authorize", "mount_mlflow"]
