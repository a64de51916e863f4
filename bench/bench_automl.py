"""AutoML quality at a fixed time budget: Atelier against FLAML, and a default LightGBM.

For each data set and seed (a 75/25 split by the seed), three systems train on the 75 %
and are scored on the held-out 25 %, in one run on this machine:
- Atelier: ``AutoMLConfig(experiment_timeout_minutes=budget/60)`` submitted to an embedded
  workspace (every iteration a child run with its metrics and model; SQLite home);
- FLAML (the anchor): ``flaml.AutoML().fit(time_budget=budget)``;
- a default ``lightgbm.LGBMClassifier`` / ``LGBMRegressor`` (the floor).

Every system trains on one thread (``THREADS``). Classification is scored by AUC
(one-vs-rest, weighted by prevalence, higher is better), regression by RMSE (lower is
better). The systems are ranked on each data set x seed (1 is best); the targets are
Atelier's mean rank below FLAML's, and Atelier never worse than the default LightGBM on a
data set, judged on the data set's mean test score over the seeds (each seed's own
comparison is printed too). The data sets are offline: scikit-learn's bundled tables and
its Friedman #1 generator. Atelier's seconds run from ``submit`` to the fitted model in
hand (the workspace is made once, before the first search); the column ``chosen`` is the
iteration Atelier named best.

    python bench/bench_automl.py                    # the issue's 60 s x 3 seeds x 6 sets
    python bench/bench_automl.py --budget 10 --seeds 1 --datasets iris,diabetes

Needs ``pip install 'atelier-ml[bench]'`` (flaml[automl], with LightGBM and XGBoost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

#: threads per system: one, as Azure's max_cores_per_iteration defaults to; on this shared
#: 2-core machine LightGBM on every core runs many times slower than on one
THREADS = 1
DATASETS = ("iris", "wine", "breast_cancer", "digits", "diabetes", "friedman1")


def load(name: str) -> tuple[Any, Any, str]:
    """(features frame, label, task)."""
    import pandas as pd
    from sklearn import datasets

    if name == "friedman1":
        X, y = datasets.make_friedman1(n_samples=2000, noise=1.0, random_state=0)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]), y, "regression"
    loader: Callable[..., Any] = getattr(datasets, f"load_{name}")
    bunch = loader(as_frame=True)
    task = "regression" if name == "diabetes" else "classification"
    return bunch.frame.drop(columns="target"), bunch.frame["target"].to_numpy(), task


def score(task: str, model: Any, X: Any, y: Any) -> float:
    import numpy as np
    from sklearn.metrics import mean_squared_error, roc_auc_score

    if task == "regression":
        return float(np.sqrt(mean_squared_error(y, model.predict(X))))
    proba = np.asarray(model.predict_proba(X))
    if proba.shape[1] == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    return float(roc_auc_score(y, proba, multi_class="ovr", average="weighted"))


def run_atelier(task: str, X: Any, y: Any, budget: float, seed: int) -> Any:
    from atelier import Experiment, Workspace
    from atelier.azureml.train.automl import AutoMLConfig

    frame = X.copy()
    frame["label"] = y
    ws = Workspace.get("bench")
    config = AutoMLConfig(
        task=task,
        primary_metric="AUC_weighted"
        if task == "classification"
        else "normalized_root_mean_squared_error",
        training_data=frame,
        label_column_name="label",
        experiment_timeout_minutes=budget / 60.0,
        max_cores_per_iteration=THREADS,
        random_seed=seed,
    )
    run = Experiment(ws, "bench").submit(config)
    best, model = run.get_output()
    model.chosen = best.properties["run_algorithm"]  # shown in the table
    return model


def run_flaml(task: str, X: Any, y: Any, budget: float, seed: int) -> Any:
    from flaml import AutoML

    automl = AutoML()
    metric = "roc_auc" if task == "classification" else "rmse"
    if task == "classification" and len(set(y)) > 2:
        metric = "roc_auc_ovr_weighted"
    automl.fit(
        X, y, task=task, time_budget=budget, metric=metric, seed=seed, verbose=0, n_jobs=THREADS
    )
    return automl


def run_lightgbm(task: str, X: Any, y: Any, budget: float, seed: int) -> Any:
    import lightgbm

    cls = lightgbm.LGBMClassifier if task == "classification" else lightgbm.LGBMRegressor
    return cls(random_state=seed, verbose=-1, n_jobs=THREADS).fit(X, y)


SYSTEMS = {"atelier": run_atelier, "flaml": run_flaml, "lightgbm": run_lightgbm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per search")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    os.environ.setdefault("ATELIER_HOME", tempfile.mkdtemp(prefix="atelier-bench-automl-"))
    warnings.simplefilter("ignore")
    from sklearn.model_selection import train_test_split

    from atelier import Workspace

    Workspace.create("bench", exist_ok=True)
    print(f"load average at the start: {_load()}")
    rows: list[dict[str, Any]] = []
    print(
        f"{'data set':<14}{'seed':>5}  {'system':<9}{'metric':>8}{'score':>12}{'seconds':>9}"
        "  chosen"
    )
    for name in args.datasets.split(","):
        X, y, task = load(name)
        for seed in range(args.seeds):
            stratify = y if task == "classification" else None
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed, stratify=stratify
            )
            for system, fit in SYSTEMS.items():
                started = time.monotonic()
                model = fit(task, X_train, y_train, args.budget, seed)
                seconds = time.monotonic() - started
                value = score(task, model, X_test, y_test)
                metric = "AUC" if task == "classification" else "RMSE"
                rows.append(
                    {
                        "set": name,
                        "seed": seed,
                        "system": system,
                        "task": task,
                        "score": value,
                        "seconds": seconds,
                    }
                )
                chosen = getattr(model, "chosen", "")
                print(
                    f"{name:<14}{seed:>5}  {system:<9}{metric:>8}{value:>12.5f}{seconds:>9.1f}"
                    f"  {chosen}",
                    flush=True,
                )
    report(rows)
    for system in ("atelier", "flaml"):
        times = [r["seconds"] for r in rows if r["system"] == system]
        over = sum(t > args.budget * 1.1 for t in times)
        print(
            f"{system} seconds: median {statistics.median(times):.1f}, max {max(times):.1f} "
            f"(budget {args.budget:.0f}; {over} of {len(times)} searches over +10 %)"
        )
    print(f"load average at the end: {_load()}")


def _load() -> str:
    from pathlib import Path

    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def report(rows: list[dict[str, Any]]) -> None:
    ranks: dict[str, list[float]] = {s: [] for s in SYSTEMS}
    cases = sorted({(r["set"], r["seed"]) for r in rows})
    for case in cases:
        here = [r for r in rows if (r["set"], r["seed"]) == case]
        better_high = here[0]["task"] == "classification"
        ordered = sorted(here, key=lambda r: r["score"], reverse=better_high)
        for position, row in enumerate(ordered, start=1):
            ties = [i for i, o in enumerate(ordered, start=1) if o["score"] == row["score"]]
            ranks[row["system"]].append(statistics.mean(ties) if ties else position)
    mean_rank = {s: statistics.mean(v) for s, v in ranks.items() if v}
    print()
    for system, value in mean_rank.items():
        print(f"mean rank {system:<9} {value:.2f}")
    print(
        f"ratio atelier/flaml mean rank: {mean_rank['atelier'] / mean_rank['flaml']:.2f} "
        "(target < 1)"
    )
    worse, seeds_worse = [], []
    for name in sorted({r["set"] for r in rows}):
        mine = [r for r in rows if r["set"] == name]
        high = mine[0]["task"] == "classification"
        atelier = statistics.mean(r["score"] for r in mine if r["system"] == "atelier")
        lgbm = statistics.mean(r["score"] for r in mine if r["system"] == "lightgbm")
        if (atelier < lgbm) if high else (atelier > lgbm):
            worse.append(f"{name} ({atelier:.4f} vs {lgbm:.4f})")
        for seed in sorted({r["seed"] for r in mine}):
            pair = {r["system"]: r["score"] for r in mine if r["seed"] == seed}
            a, b = pair["atelier"], pair["lightgbm"]
            if (a < b) if high else (a > b):
                seeds_worse.append(f"{name}/{seed} ({a:.5f} vs {b:.5f})")
    print(
        "data sets where atelier is worse than a default LightGBM (the data set's mean test "
        f"score over the seeds; the target: none): {', '.join(worse) or 'none'}"
    )
    print(
        "single seeds where atelier is worse than a default LightGBM (information): "
        f"{', '.join(seeds_worse) or 'none'}"
    )


if __name__ == "__main__":
    main()
