"""The scheduler: fires every due slot of every Active schedule of a database, once.

``Scheduler(settings, clock=...)``'s ``run_once()`` is one pass: the due schedules, a
claim on each slot (a compare-and-swap in the database, so two schedulers on one
database never fire the same slot twice: ``services/schedule_slots.py``), then the
submission of each slot it won and a record of the run it started or of why none
started. ``serve()`` repeats passes every ``every`` seconds until stopped;
``start_background()`` does so on a daemon thread (``atelier server start`` runs one
there). The clock is injectable, so tests drive time instead of waiting for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from atelier.client.backend import Backend
from atelier.client.registry import embedded_backend, scheduling_for
from atelier.core.errors import AtelierError
from atelier.core.schedules import FiringRecord, ScheduleRecord
from atelier.core.settings import Settings
from atelier.core.timeutil import now_ms
from atelier.scheduler.targets import submit_scheduled
from atelier.sdk.workspace import Workspace

DEFAULT_EVERY_SECONDS = 5.0
_log = logging.getLogger("atelier.scheduler")


class Scheduler:
    """Fires the schedules of the database ``settings`` name (``clock`` gives the time
    in epoch milliseconds)."""

    def __init__(
        self, settings: Settings | None = None, *, clock: Callable[[], int] = now_ms
    ) -> None:
        self.backend: Backend = embedded_backend(settings)
        self.scheduling = scheduling_for(settings)
        self.clock = clock

    def run_once(self) -> list[FiringRecord]:
        """One pass: every slot this scheduler won, with the run it started (or the
        error of a submission that failed)."""
        now = self.clock()
        fired = []
        for schedule in self.scheduling.due(now):
            try:
                firing = self.scheduling.claim(schedule, now)
            except AtelierError as exc:
                _log.warning("scheduler: cannot claim %s: %s", schedule.name, exc.message)
                continue
            if firing is not None:
                fired.append(self._fire(schedule, firing))
        return fired

    def _fire(self, schedule: ScheduleRecord, firing: FiringRecord) -> FiringRecord:
        parameters = dict(schedule.pipeline_parameters)
        if schedule.data_path_parameter_name and firing.changed_paths:
            parameters[schedule.data_path_parameter_name] = firing.changed_paths[0]
        try:
            workspace = Workspace(workspace_name=schedule.workspace_name, _backend=self.backend)
            run_id = submit_scheduled(workspace, schedule, parameters)
        except AtelierError as exc:
            _log.warning("scheduler: %s started no run: %s", schedule.name, exc.message)
            return self.scheduling.record_outcome(firing, error=exc.message)
        except Exception as exc:  # a target's bug must not end the scheduler
            _log.exception("scheduler: %s started no run", schedule.name)
            return self.scheduling.record_outcome(firing, error=f"{type(exc).__name__}: {exc}")
        _log.info("scheduler: %s started run %s", schedule.name, run_id)
        return self.scheduling.record_outcome(firing, run_id=run_id)

    def serve(
        self, every: float = DEFAULT_EVERY_SECONDS, stop: threading.Event | None = None
    ) -> None:
        """Pass after pass, ``every`` seconds apart, until ``stop`` is set."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                self.run_once()
            except AtelierError as exc:  # the database is away: try again next time
                _log.warning("scheduler: %s", exc.message)
            except Exception:  # a bug must not end the scheduler for the process's lifetime
                _log.exception("scheduler: this pass failed; trying again next time")
            stop.wait(every)


def start_background(
    settings: Settings | None = None, every: float = DEFAULT_EVERY_SECONDS
) -> tuple[threading.Thread, threading.Event]:
    """A scheduler serving on a daemon thread of this process; set the event to stop it."""
    stop = threading.Event()
    scheduler = Scheduler(settings)
    thread = threading.Thread(
        target=scheduler.serve, args=(every, stop), name="atelier-scheduler", daemon=True
    )
    thread.start()
    return thread, stop
