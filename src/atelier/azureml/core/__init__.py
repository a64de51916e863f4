"""``azureml.core``: Workspace, Experiment, Run, ScriptRunConfig, Environment, ComputeTarget,
Model, Webservice."""

from atelier.sdk import Experiment, Run, Workspace
from atelier.sdk.compute.conda_dependencies import CondaDependencies
from atelier.sdk.compute.environment import Environment
from atelier.sdk.compute.targets import ComputeTarget
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.datastore import Datastore
from atelier.sdk.keyvault import Keyvault
from atelier.sdk.models.model import Model
from atelier.sdk.models.webservice import Webservice
from atelier.sdk.tracking.runconfig import RunConfiguration, ScriptRunConfig

__all__ = [
    "ComputeTarget",
    "CondaDependencies",
    "Dataset",
    "Datastore",
    "Environment",
    "Experiment",
    "Keyvault",
    "Model",
    "Run",
    "RunConfiguration",
    "ScriptRunConfig",
    "Webservice",
    "Workspace",
]
