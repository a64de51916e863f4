"""``azureml.train.hyperdrive.parameter_expressions``."""

from atelier.sdk.sweeps import parameters as _expressions
from atelier.sdk.sweeps.parameters import *  # noqa: F403 - the ten expressions

__all__ = _expressions.__all__
