"""Batch scoring (``ParallelRunStep``): a configuration, the driver that runs in the run,
and :func:`prepare`, which turns a configuration and its inputs into a runnable script."""

from atelier.sdk.parallel_run.config import ParallelRunConfig
from atelier.sdk.parallel_run.launch import ParallelRunLaunch, prepare

__all__ = ["ParallelRunConfig", "ParallelRunLaunch", "prepare"]
