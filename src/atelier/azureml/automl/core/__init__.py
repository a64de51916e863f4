"""``azureml.automl.core``: ForecastingParameters and FeaturizationConfig."""
