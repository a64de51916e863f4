"""Identifiers: random, sortable by creation time, safe in paths and URLs."""

from __future__ import annotations

import time
import uuid


def new_id() -> str:
    return uuid.uuid4().hex


def new_run_id(experiment_name: str) -> str:
    """``<experiment>_<unix seconds>_<8 hex>``, the shape of azureml run ids."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"
