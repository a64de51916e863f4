"""The ``atelier`` command line: Typer, one module per noun.

The root app lives in :mod:`atelier.cli.main`. This package imports nothing on purpose,
so ``python -m atelier.cli.main`` runs the module once and ``import atelier.cli`` stays
free of Typer, the SDK and everything below it.
"""

__all__: list[str] = []
