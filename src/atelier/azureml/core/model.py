"""``azureml.core.model``: Model, InferenceConfig."""

from atelier.sdk.inference import InferenceConfig
from atelier.sdk.model import Model

__all__ = ["InferenceConfig", "Model"]
