"""``azureml.pipeline.steps``: PythonScriptStep, ParallelRunStep, ParallelRunConfig,
HyperDriveStep."""

from atelier.sdk.parallel_run.config import ParallelRunConfig
from atelier.sdk.pipelines import PythonScriptStep
from atelier.sdk.pipelines.hyperdrive_step import HyperDriveStep
from atelier.sdk.pipelines.parallel_run_step import ParallelRunStep
from atelier.sdk.pipelines.runs import HyperDriveStepRun

__all__ = [
    "HyperDriveStep",
    "HyperDriveStepRun",
    "ParallelRunConfig",
    "ParallelRunStep",
    "PythonScriptStep",
]
