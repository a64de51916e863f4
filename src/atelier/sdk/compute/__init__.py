"""Compute: where and with what a run executes.

Compute targets (``targets``: local, Ray, SSH), software environments (``environment``)
and their conda/pip dependencies (``conda_dependencies``).
"""
