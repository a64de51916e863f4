"""``azureml.core.runconfig``: RunConfiguration, the job configurations, CondaDependencies
and the default image names."""

from atelier.sdk.compute.conda_dependencies import CondaDependencies
from atelier.sdk.compute.environment import DEFAULT_CPU_IMAGE
from atelier.sdk.tracking.job_configs import (
    DockerConfiguration,
    MpiConfiguration,
    PyTorchConfiguration,
)
from atelier.sdk.tracking.runconfig import RunConfiguration

__all__ = [
    "DEFAULT_CPU_IMAGE",
    "CondaDependencies",
    "DockerConfiguration",
    "MpiConfiguration",
    "PyTorchConfiguration",
    "RunConfiguration",
]
