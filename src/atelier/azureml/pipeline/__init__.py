"""``azureml.pipeline``: pipelines (``.core``) and their steps (``.steps``)."""
