"""``azureml.pipeline.core``: Pipeline, PipelineData, PipelineParameter, PipelineRun,
StepRun, PublishedPipeline, PipelineEndpoint, Schedule, ScheduleRecurrence, TimeZone."""

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
from atelier.sdk.pipelines.schedule import Schedule, ScheduleRecurrence, TimeZone

__all__ = [
    "Pipeline",
    "PipelineData",
    "PipelineEndpoint",
    "PipelineParameter",
    "PipelineRun",
    "PortDataReference",
    "PublishedPipeline",
    "Schedule",
    "ScheduleRecurrence",
    "StepRun",
    "TimeZone",
]
