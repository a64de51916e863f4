"""``azureml.pipeline.core``: Pipeline, PipelineData, PipelineParameter, PipelineRun,
StepRun, PublishedPipeline, PipelineEndpoint."""

from atelier.sdk.pipelines import (
    Pipeline,
    PipelineData,
    PipelineEndpoint,
    PipelineParameter,
    PipelineRun,
    PortDataReference,
    PublishedPipeline,
    StepRun,
)

__all__ = [
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "PublishedPipeline",
    "StepRun",
]
