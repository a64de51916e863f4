"""``atelier drift create | list | show | backfill | enable | disable`` on registered
datasets, and the one-line errors of bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from atelier import Dataset, Workspace
from tests.helpers.cli import Atelier, assert_one_line_error


def _register(ws: Workspace, folder: Path) -> None:
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"x": rng.normal(0, 1, 800), "c": rng.choice(["a", "b"], 800)})
    live = pd.DataFrame({"x": rng.normal(0, 1, 800), "c": rng.choice(["a", "b"], 800)})
    live.loc[400:, "x"] += 3
    # rows 0-399 on May 1st, 400-799 (shifted) on the 2nd
    live["ts"] = [
        datetime(2026, 5, 1) + timedelta(days=i // 400, minutes=i % 400) for i in range(800)
    ]
    base.to_parquet(folder / "base.parquet")
    live.to_parquet(folder / "live.parquet")
    Dataset.Tabular.from_parquet_files(str(folder / "base.parquet")).register(ws, "base")
    Dataset.Tabular.from_parquet_files(str(folder / "live.parquet")).register(ws, "live")


def test_drift_journey(atelier: Atelier, tmp_path: Path) -> None:
    assert atelier("workspace", "create", "lab").code == 0
    _register(Workspace.get("lab"), tmp_path)
    made = atelier(
        "drift", "create", "watch", "-w", "lab", "--baseline", "base", "--target", "live:1",
        "--timestamp", "ts", "--frequency", "Day", "--threshold", "0.3", "--email",
        "ops@example.com",
    )  # fmt: skip
    assert made.code == 0, made.stderr
    assert "created" in made.stdout and "Disabled" in made.stdout
    listing = atelier("drift", "list", "-w", "lab", "-o", "json").json()
    assert [(d["name"], d["baseline"], d["target"]) for d in listing] == [
        ("watch", "base:1", "unregistered dataset")
    ]
    filled = atelier(
        "drift", "backfill", "watch", "-w", "lab", "--start", "2026-05-01", "--end", "2026-05-04"
    )
    assert filled.code == 0 and "3 windows" in filled.stdout, filled.stderr
    shown = atelier("drift", "show", "watch", "-w", "lab", "-o", "json").json()
    assert [(w["start_date"][:10], w["has_drift"]) for w in shown["windows"]] == [
        ("2026-05-01", False),
        ("2026-05-02", True),
        ("2026-05-03", None),
    ]
    assert atelier("drift", "enable", "watch", "-w", "lab").code == 0
    assert atelier("drift", "list", "-w", "lab", "-o", "json").json()[0]["state"] == "Enabled"

    missing = atelier("drift", "show", "nope", "-w", "lab")
    assert_one_line_error(missing, 3, "data drift detector 'nope' not found")
    neither = atelier("drift", "create", "x", "-w", "lab", "--baseline", "base")
    assert_one_line_error(neither, 2, "give either --target")
    no_time = atelier("drift", "create", "y", "-w", "lab", "--baseline", "base", "--target", "live")
    assert_one_line_error(no_time, 2, "no timestamp column")
