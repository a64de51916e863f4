"""Data: datastores and datasets.

Datastores (``datastore``) and the datasets on them (``dataset``, ``file_dataset``,
``tabular_dataset``, their shared base ``_dataset_base``); a dataset as a run's named
input (``_inputs``, ``_run_inputs``) and the dataset versions behind a model
(``_model_links``); a dataset's profile (``_profile``); the tabular reader
(``_tabular_read``), its transformation steps (``_tabular_steps``) and a dataset's
columnar cache (``_tabular_cache``).
"""
