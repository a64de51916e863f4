"""``azureml.automl``: the AutoML settings objects live in :mod:`atelier.azureml.automl.core`."""
