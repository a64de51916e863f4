"""``AutoMLRun.continue_experiment``: more iterations of an ended AutoML search.

The search's state (its checked data, fitted featurizer, every iteration with its
validation predictions) is a file of the parent run; the continued search reads it back,
replays the iterations into a new Optuna study, runs more iterations as new child runs of
the same parent, makes new ensembles over all of them and names the best again (the
parent's ``best_child_run_id`` tag). The parent keeps its ended status: a run that ended
does not start again.
"""

from __future__ import annotations

import copy
import math
import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.core.errors import InvalidStateError, ValidationError
from atelier.core.status import RunStatus

if TYPE_CHECKING:
    from atelier.sdk.automl.run import AutoMLRun

__all__ = ["continue_search"]


def _load_state(run: AutoMLRun) -> dict[str, Any]:
    from atelier.sdk.automl._children import STATE_TAG

    record = run._refresh()
    if record.status not in (RunStatus.COMPLETED, RunStatus.CANCELED):
        raise InvalidStateError(
            f"AutoML run {run.id} is {record.status.value}; only a Completed or Canceled "
            "AutoML run can be continued (wait for it to end)"
        )
    name = record.tags.get(STATE_TAG)
    if not name:
        raise InvalidStateError(
            f"AutoML run {run.id} kept no search state (it was made by an older Atelier); "
            "submit its AutoMLConfig again"
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.pkl"
        run.download_file(name, str(path))
        with path.open("rb") as handle:
            state: dict[str, Any] = pickle.load(handle)
    return state


def _same_data(config: Any, data: Any, given: dict[str, Any]) -> None:
    """Data given again must be the data the search ran on: its validation predictions
    and its featurizer belong to them."""
    import numpy as np

    from atelier.sdk.automl._arguments import training, validation
    from atelier.sdk.automl._data import prepare_data

    check = copy.copy(config)
    check.training_data, check.label_column_name = training(
        given["training_data"], given["X"], given["y"], config.label_column_name
    )
    if given["validation_data"] is not None or given["X_valid"] is not None:
        check.validation_data = validation(
            given["validation_data"], given["X_valid"], given["y_valid"], config.label_column_name
        )
    again = prepare_data(check)
    same = (
        again.X.shape == data.X.shape
        and again.X.equals(data.X)
        and np.array_equal(np.asarray(again.y), np.asarray(data.y))
    )
    if not same:
        raise ValidationError(
            "continue_experiment continues on the data the search ran on; these data differ "
            "(submit a new AutoMLConfig to search on other data)"
        )


def continue_search(
    run: AutoMLRun,
    given: dict[str, Any],
    iterations: int | None,
    budget: tuple[Any, Any],
    exit_score: float | None,
    show_output: bool,
) -> None:
    from atelier.sdk.automl._arguments import number, timeout
    from atelier.sdk.automl._search import Search

    hours, minutes = budget
    state = _load_state(run)
    config = copy.copy(state["config"])
    if iterations is not None:
        config.iterations = number("iterations", iterations, 1, True)
    if hours is not None or minutes is not None:
        extra = {} if minutes is None else {"experiment_timeout_minutes": minutes}
        config.experiment_timeout_minutes = timeout(hours, extra)
    if exit_score is not None:
        config.experiment_exit_score = number("experiment_exit_score", exit_score, -math.inf)
    if any(given[k] is not None for k in ("training_data", "X", "validation_data", "X_valid")):
        _same_data(config, state["data"], given)
    kept = set(state.get("kept", ()))
    for outcome in state["outcomes"]:
        if outcome.iteration in kept:  # its fitted model, from its child run
            outcome.model = run.get_output(iteration=outcome.iteration)[1]
    Search(run, config, state["data"], show_output=show_output, state=state).run()
