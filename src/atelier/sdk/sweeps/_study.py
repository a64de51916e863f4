"""A sweep's Optuna study: where it is stored, and what it is told.

The study lives in the workspace's database when this process reaches it (embedded mode,
SQLite or PostgreSQL): Optuna's own tables, in a schema of their own on PostgreSQL
(``optuna``, made by migration 0011) and in a database file beside the workspace's on
SQLite, so Optuna's migrations never meet Atelier's. A client of a server has no database
of its own: its studies are kept in an Optuna journal file under its Atelier home. Either
way, the study outlives the process that drives the sweep, which makes a sweep resumable.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: the properties of a trial's run that tie it to its Optuna trial
TRIAL_PROPERTY = "hyperdrive.trial"
RAW_PROPERTY = "hyperdrive.raw_params"
WARM_ATTRIBUTE = "atelier_warm_start"


def storage_for(environment: dict[str, str]) -> Any:
    """The Optuna storage of the store ``environment`` (a backend's child environment) names."""
    import optuna

    url = environment.get("ATELIER_DATABASE_URL")
    if url:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            url = f"sqlite:///{path}.optuna" if path and path != ":memory:" else url
            return optuna.storages.RDBStorage(
                url, engine_kwargs={"connect_args": {"timeout": 60}}, skip_compatibility_check=True
            )
        return optuna.storages.RDBStorage(
            url,
            engine_kwargs={"connect_args": {"options": "-csearch_path=optuna"}},
            skip_compatibility_check=True,
        )
    folder = Path(environment["ATELIER_HOME"]) / "sweeps"
    folder.mkdir(parents=True, exist_ok=True)
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(folder / "studies.journal")))


def open_study(environment: dict[str, str], run_id: str, maximize: bool, sampler: Any) -> Any:
    """The sweep's study, created on first use."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(
        study_name=f"atelier-sweep-{run_id}",
        storage=storage_for(environment),
        direction="maximize" if maximize else "minimize",
        sampler=sampler,
        load_if_exists=True,
    )


def close_study(study: Any) -> None:
    """Close the database connections a study's storage holds (an RDB storage's engine)."""
    storage = getattr(study, "_storage", study)
    while storage is not None and not hasattr(storage, "engine"):
        storage = getattr(storage, "_backend", None)  # a cached storage wraps the RDB one
    if storage is not None:
        storage.engine.dispose()


def best_value(values: list[float], maximize: bool) -> float | None:
    """A trial's best primary-metric value (NaN values are not values)."""
    finite = [v for v in values if isinstance(v, int | float) and not math.isnan(v)]
    if not finite:
        return None
    return max(finite) if maximize else min(finite)


def raw_params(properties: dict[str, str]) -> dict[str, Any]:
    try:
        raw = json.loads(properties.get(RAW_PROPERTY) or "{}")
    except ValueError:
        return {}
    return raw if isinstance(raw, dict) else {}


def warm_trials(
    distributions: dict[str, Any], earlier: list[tuple[dict[str, Any], float]]
) -> list[Any]:
    """Frozen trials for warm-starting a study with earlier sweeps' scored trials; trials
    whose parameters do not fit this sweep's space are left out."""
    import optuna

    trials = []
    for params, value in earlier:
        if set(params) != set(distributions) or not all(
            _fits(distribution, params[name]) for name, distribution in distributions.items()
        ):
            continue
        trials.append(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=value,
                user_attrs={WARM_ATTRIBUTE: True},
            )
        )
    return trials


def _fits(distribution: Any, value: Any) -> bool:
    try:
        return bool(distribution._contains(distribution.to_internal_repr(value)))
    except (ValueError, TypeError):
        return False
