"""``azureml.core.model``: Model, InferenceConfig, ModelPackage."""

from atelier.sdk.models.inference import InferenceConfig
from atelier.sdk.models.model import Model
from atelier.sdk.models.package import ModelPackage

__all__ = ["InferenceConfig", "Model", "ModelPackage"]
