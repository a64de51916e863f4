"""``azureml.pipeline.steps``: PythonScriptStep."""

from atelier.sdk.pipelines import PythonScriptStep

__all__ = ["PythonScriptStep"]
