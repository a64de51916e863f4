"""The server's reaper: a background task of ``atelier server`` that fails runs whose
supervisor is lost, so such a run ends within seconds of the loss without any client
polling, and a script left running loses its run token (which ends with its run).

Every ``ATELIER_REAPER_SECONDS`` (default 5; 0 turns it off) it looks for unfinished runs
whose supervisor died on this host or has been silent for ``ATELIER_HEARTBEAT_TIMEOUT``
seconds (default 15), marks them Failed with ``SupervisorLost``, and kills the process
groups they left on this host (a supervisor on another machine is out of its reach; the
script there loses its token). With several workers each runs it: failing a run twice is a
no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from atelier.core.errors import AtelierError
from atelier.core.processes import heartbeat_timeout_seconds, kill_run_processes
from atelier.services import reaper
from atelier.store.database import Database

DEFAULT_REAPER_SECONDS = 5.0
_log = logging.getLogger("atelier.server.reaper")


def reaper_seconds() -> float:
    """How often the reaper looks (``ATELIER_REAPER_SECONDS``; 0 turns it off)."""
    try:
        return float(os.environ.get("ATELIER_REAPER_SECONDS", DEFAULT_REAPER_SECONDS))
    except ValueError:
        return DEFAULT_REAPER_SECONDS


def reap_once(database: Database) -> list[str]:
    """Fail every run whose supervisor is lost and kill what it left here; their ids."""
    timeout = heartbeat_timeout_seconds()
    with database.session() as session:
        lost = reaper.lost_runs(session, timeout)
    failed = []
    for run in lost:
        # one transaction per run: a run that ended meanwhile does not hold up the others
        with database.session() as session:
            if not reaper.fail_lost(session, run):
                continue
        kill_run_processes(run.run_id, run.supervisor)
        failed.append(run.run_id)
    return failed


async def _loop(database: Database, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            failed = await run_in_threadpool(reap_once, database)
        except AtelierError as exc:  # the database is away: try again next time
            _log.warning("reaper: %s", exc.message)
            continue
        except Exception:  # a bug must not end the reaper for the server's lifetime
            _log.exception("reaper: this pass failed; trying again next time")
            continue
        for run_id in failed:
            _log.warning("reaper: run %s Failed: its supervisor is lost", run_id)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the reaper while the app serves (the app's ``lifespan``)."""
    every = reaper_seconds()
    task = None
    if every > 0:
        task = asyncio.create_task(_loop(app.state.database, every))
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
