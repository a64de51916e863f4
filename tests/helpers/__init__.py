"""Helpers shared by the test tree: the CLI as a shell sees it (``cli``), a real workspace
server (``server``), object-store emulators (``object_stores``) and which routes are
MLflow's (``mlflow_routes``)."""
