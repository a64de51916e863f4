"""Serving models: the scoring runtime that hosts an entry script, and (later) endpoints.

- :mod:`atelier.serving.entry` — load an entry script (``init()`` / ``run(data)``).
- :mod:`atelier.serving.schema` — ``input_schema`` / ``output_schema`` decorators.
- :mod:`atelier.serving.app` — ``create_app(...)``: the ASGI scoring app.
- :mod:`atelier.serving.server` — ``serve(...)`` and ``python -m atelier.serving.server``.

This package imports nothing heavy itself; importing a submodule loads Starlette.
"""
