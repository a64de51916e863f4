"""``atelier.train.hyperdrive``: the same names as :mod:`atelier.azureml.train.hyperdrive`."""

from atelier.azureml.train.hyperdrive import *  # noqa: F403 - the same names, re-exported
from atelier.azureml.train.hyperdrive import __all__ as __all__
