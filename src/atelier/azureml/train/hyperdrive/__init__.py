"""``azureml.train.hyperdrive``: HyperDriveConfig, the samplings, the early-termination
policies, the parameter expressions and HyperDriveRun, at azureml v1's module path."""

from atelier.sdk.sweeps import *  # noqa: F403 - the same names, re-exported
from atelier.sdk.sweeps import __all__ as __all__
