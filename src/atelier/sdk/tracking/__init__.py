"""Tracking: experiments and their runs.

Here live an ``Experiment`` and its ``Run`` objects and everything a run records: a run's
metrics (``_logging``, written in the background by ``_writer``), its files (``_files``),
waiting for it (``_waiting``), the offline run a script gets outside Atelier (``_offline``),
run queries (``_query``), and submitting a script as a run (``runconfig``, ``_submit``,
with the source snapshot in ``_snapshot`` and its git details in ``_git``).
"""
