"""Business rules: the only place they live. One module per resource; a resource that
outgrew one module is a family of modules named after it, whose first module re-exports the
rest so a caller imports one name. Every function takes an explicit session (or the blob
store it works on) and raises ``AtelierError`` subclasses only.

- workspaces, members (roles), users (and tokens), audit
- experiments; runs (run_records, run_queries, run_transitions), run_logs, metrics,
  artifacts, snapshots
- compute, environments
- datastores (datastore_secrets), datasets (and lineage)
- models (the registry), packages (images)
- endpoints (endpoint_records, endpoint_keys, endpoint_deployments, endpoint_reports)
- secrets (the workspace key vault)
- mlflow_tracking, mlflow_models, mlflow_artifacts, mlflow_search: the MLflow protocol over
  the resources above
- ``_convert``: rows to records, shared by the modules above
"""
