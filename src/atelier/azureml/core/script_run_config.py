"""``azureml.core.script_run_config``: ScriptRunConfig."""

from atelier.sdk.tracking.runconfig import ScriptRunConfig

__all__ = ["ScriptRunConfig"]
