"""Which routes of the server are the MLflow protocol's (``mount_mlflow``).

They carry no declared ``Rule``: each awaits ``authorize_workspace`` for the workspace
its URI or header names, with "read" or "write" by operation, and
tests/server/mlflow/test_authorization.py walks every one of them with real tokens.
"""

from __future__ import annotations

MLFLOW_PREFIXES = ("/mlflow/{workspace}/api/", "/api/2.0/", "/api/3.0/")


def is_mlflow_path(path: str) -> bool:
    return path.startswith(MLFLOW_PREFIXES)
