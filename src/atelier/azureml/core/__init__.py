"""``azureml.core``: Workspace, Experiment, Run, ScriptRunConfig, Environment, ComputeTarget,
Model."""

from atelier.sdk import Experiment, Run, Workspace
from atelier.sdk.compute import ComputeTarget
from atelier.sdk.dataset import Dataset
from atelier.sdk.datastore import Datastore
from atelier.sdk.environment import Environment
from atelier.sdk.keyvault import Keyvault
from atelier.sdk.model import Model
from atelier.sdk.runconfig import RunConfiguration, ScriptRunConfig

__all__ = [
    "ComputeTarget",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "Keyvault",
    "Model",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "Workspace",
]
