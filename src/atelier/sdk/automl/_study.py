"""The Optuna study behind a search: each model family's default point first, then TPE.

A continued search (``AutoMLRun.continue_experiment``) replays the iterations it already
ran into a new study, each with its hyperparameters and score, so the sampler goes on
from what it learnt; the default points already tried are not queued again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from atelier.sdk.automl._ensembles import HEDGE

if TYPE_CHECKING:
    from atelier.sdk.automl._search import Search
    from atelier.sdk.automl.models import ModelFamily

__all__ = ["ENSEMBLES", "make_study"]

#: iterations made after the search, not by the study (a continued search makes new ones)
ENSEMBLES = ("VotingEnsemble", "StackEnsemble", HEDGE, "Baseline")
_STARTUP_TRIALS = 10


def _named(family: ModelFamily, params: dict[str, Any]) -> dict[str, Any]:
    return {"model": family.name, **{f"{family.name}.{k}": v for k, v in params.items()}}


def make_study(search: Search, families: list[ModelFamily]) -> Any:
    """A study with the search's past iterations told, and the untried defaults queued."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(
        seed=search.config.random_seed + search.round, n_startup_trials=_STARTUP_TRIALS
    )
    study = optuna.create_study(
        direction="maximize" if search.maximize else "minimize", sampler=sampler
    )
    by_name = {f.name: f for f in families}
    tried = set()
    for outcome in search.outcomes:
        family = by_name.get(outcome.name)
        if family is None:  # an ensemble, or a family this search may no longer use
            continue
        study.enqueue_trial(_named(family, outcome.params))
        trial = study.ask()
        trial.suggest_categorical("model", list(by_name))
        family.space(trial)
        if math.isnan(outcome.score):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, outcome.score)
        if outcome.params == family.defaults:
            tried.add(family.name)
    for family in families:
        if family.name not in tried:
            study.enqueue_trial(_named(family, family.defaults))
    return study
