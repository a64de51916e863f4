"""azureml-core v1 module paths over Atelier's SDK: rewrite ``azureml`` to ``atelier.azureml``
in imports and the code runs here. Re-exports only; no logic lives in this package."""
