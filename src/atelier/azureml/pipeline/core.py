"""``azureml.pipeline.core``: Pipeline, PipelineData, PipelineParameter, PipelineRun,
StepRun, PublishedPipeline, PipelineEndpoint."""

from atelier.sdk.pipelines import (
    Pipeline,
    PipelineData,
    PipelineParameter,
    PipelineRun,
    PortDataReference,
    StepRun,
)

__all__ = [
    "Pipeline",
    "PipelineData",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "StepRun",
]
