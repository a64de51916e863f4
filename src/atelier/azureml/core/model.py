"""``azureml.core.model``: Model, InferenceConfig, ModelPackage."""

from atelier.sdk.inference import InferenceConfig
from atelier.sdk.model import Model
from atelier.sdk.package import ModelPackage

__all__ = ["InferenceConfig", "Model", "ModelPackage"]
