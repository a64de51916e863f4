"""``azureml.pipeline.steps``: PythonScriptStep, ParallelRunStep, ParallelRunConfig."""

from atelier.sdk.parallel_run.config import ParallelRunConfig
from atelier.sdk.pipelines import PythonScriptStep
from atelier.sdk.pipelines.parallel_run_step import ParallelRunStep

__all__ = ["ParallelRunConfig", "ParallelRunStep", "PythonScriptStep"]
