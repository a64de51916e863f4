"""Serving models: the scoring runtime that hosts an entry script, and endpoints.

- :mod:`atelier.serving.entry` — load an entry script (``init()`` / ``run(data)``).
- :mod:`atelier.serving.schema` — ``input_schema`` / ``output_schema`` decorators.
- :mod:`atelier.serving.app` — ``create_app(...)``: the ASGI scoring app.
- :mod:`atelier.serving.fastpredict` — ``compile_predictor(model)``: no-code scikit-learn
  scoring through ONNX Runtime, verified against ``model.predict``.
- :mod:`atelier.serving.server` — ``serve(...)`` and ``python -m atelier.serving.server``.
- :mod:`atelier.serving.endpoint` — ``python -m atelier.serving.endpoint``: one endpoint's
  :mod:`~atelier.serving.router` (owns the port, checks keys, splits traffic) and
  :mod:`~atelier.serving.manager` (replicas, rollouts, restarts, health checks,
  autoscaling), with :mod:`~atelier.serving.scaling` (replica counts, autoscaling steps,
  health checks), :mod:`~atelier.serving.traffic` (the traffic split, direct hand-over),
  :mod:`~atelier.serving.replicas`, :mod:`~atelier.serving.upstream` and
  :mod:`~atelier.serving.collector` (model data as Parquet).

This package imports nothing heavy itself.
"""
