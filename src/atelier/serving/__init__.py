"""Serving models: the scoring runtime that hosts an entry script, and (later) endpoints."""
