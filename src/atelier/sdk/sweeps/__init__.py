"""Hyperparameter sweeps (HyperDrive): parameter expressions, samplings on Optuna, Azure's
early-termination policies, ``HyperDriveConfig`` and ``HyperDriveRun``.

Optuna is imported only when a sweep is configured or driven, so ``import atelier`` stays
light."""

from atelier.sdk.sweeps import parameters
from atelier.sdk.sweeps.config import HyperDriveConfig, PrimaryMetricGoal
from atelier.sdk.sweeps.parameters import *  # noqa: F403 - the parameter expressions
from atelier.sdk.sweeps.policies import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TruncationSelectionPolicy,
)
from atelier.sdk.sweeps.run import HyperDriveRun
from atelier.sdk.sweeps.sampling import (
    BayesianParameterSampling,
    GridParameterSampling,
    HyperParameterSampling,
    RandomParameterSampling,
)

__all__ = [
    "BanditPolicy",
    "BayesianParameterSampling",
    "EarlyTerminationPolicy",
    "GridParameterSampling",
    "HyperDriveConfig",
    "HyperDriveRun",
    "HyperParameterSampling",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "PrimaryMetricGoal",
    "RandomParameterSampling",
    "TruncationSelectionPolicy",
]
__all__ += parameters.__all__
