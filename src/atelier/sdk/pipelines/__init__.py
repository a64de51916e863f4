"""Pipelines: DAGs of steps passing data, with step reuse, publishing and REST endpoints."""

from atelier.sdk.data.data_reference import DataReference
from atelier.sdk.pipelines._data import PipelineData, PipelineParameter
from atelier.sdk.pipelines.pipeline import Pipeline
from atelier.sdk.pipelines.published import PipelineEndpoint, PublishedPipeline
from atelier.sdk.pipelines.runs import PipelineRun, PortDataReference, StepRun
from atelier.sdk.pipelines.steps import PipelineStep, PythonScriptStep

__all__ = [
    "DataReference",
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PipelineStep",
    "PortDataReference",
    "PublishedPipeline",
    "PythonScriptStep",
    "StepRun",
]
