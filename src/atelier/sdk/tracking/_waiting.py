"""The submitted-run half of ``Run``: follow its output, wait for it, get its snapshot."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from atelier.core.errors import NotFoundError, RunFailedError
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import ms_to_iso
from atelier.execution.reaper import reap

if TYPE_CHECKING:
    from atelier.client.backend import Backend

_POLL_SECONDS = 0.1
_REAP_SECONDS = 2.0
#: the statuses of a submitted run before its script starts (its environment build included)
_BEFORE_SCRIPT = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED, RunStatus.PREPARING})


class WaitingMixin:
    _backend: Backend
    _workspace_name: str

    @property
    def id(self) -> str:
        raise NotImplementedError

    def _refresh(self) -> RunRecord:
        raise NotImplementedError

    def get_details(self) -> dict[str, Any]:
        raise NotImplementedError

    def stream_logs(self, out: TextIO | None = None, follow: bool = True) -> RunRecord:
        """Write the script's output to ``out`` (default stdout) as it appears; with
        ``follow``, until the run ends. Returns the run's final record."""
        sink = out or sys.stdout
        offset = 0
        last_reap = time.monotonic()
        while True:
            chunk, ended = self._backend.runs.read_log(self._workspace_name, self.id, offset)
            if chunk:
                offset += len(chunk)
                sink.write(chunk.decode("utf-8", errors="replace"))
                sink.flush()
            if ended or not follow:
                record = self._refresh()
                if ended or not follow:
                    return record
            if time.monotonic() - last_reap > _REAP_SECONDS:
                reap(self._backend, self._workspace_name)
                last_reap = time.monotonic()
            if not chunk:
                time.sleep(_POLL_SECONDS)

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        timeout_seconds: float | None = None,
    ) -> dict[str, Any]:
        """Block until the run ends; print its output live with ``show_output``. Raises
        ``RunFailedError`` (with the run's error) if it failed or was canceled, unless
        ``raise_on_error`` is False. Returns ``get_details()``."""
        del wait_post_processing
        deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        if show_output:
            self._show_preparation(sys.stdout)
            record = self.stream_logs()
        else:
            last_reap = time.monotonic()
            while (record := self._refresh()).status not in TERMINAL_STATUSES:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"run {self.id} still {record.status} after waiting")
                if time.monotonic() - last_reap > _REAP_SECONDS:
                    reap(self._backend, self._workspace_name)
                    last_reap = time.monotonic()
                time.sleep(_POLL_SECONDS)
        if raise_on_error and record.status in (RunStatus.FAILED, RunStatus.CANCELED):
            message = (record.error or {}).get("message", "no error recorded")
            raise RunFailedError(f"run {self.id} ended {record.status.value}: {message}")
        return self.get_details()

    def _show_preparation(self, sink: TextIO) -> None:
        """``show_output``'s lines until the script starts: the run's phase (queued, its
        environment being built ...) and the time waited, once per change."""
        started = last_reap = time.monotonic()
        shown = None
        while True:
            activity = self.get_activity()
            if activity["status"] not in _BEFORE_SCRIPT:
                return
            text = str(activity.get("message") or activity.get("phase") or activity["status"])
            if text != shown:
                sink.write(f"run {self.id}: {text} ({time.monotonic() - started:.1f} s)\n")
                sink.flush()
                shown = text
            if time.monotonic() - last_reap > _REAP_SECONDS:
                reap(self._backend, self._workspace_name)  # a supervisor that died ends it
                last_reap = time.monotonic()
            time.sleep(_POLL_SECONDS)

    def get_activity(self) -> dict[str, Any]:
        """What the run is doing now: its status, and for a submitted run the supervisor's
        current phase (queued, environment, running, finalizing) and message; ``ended``
        once the run has ended, never the phase it was last seen in."""
        record = self._refresh()
        supervisor = record.supervisor or {}
        if record.status in TERMINAL_STATUSES:
            error = record.error or {}
            return {
                "status": record.status.value,
                "phase": "ended",
                "message": error.get("message") or f"the run ended {record.status.value}",
                "updated": ms_to_iso(record.ended_ms or supervisor.get("updated_ms")),
            }
        return {
            "status": record.status.value,
            "phase": supervisor.get("phase"),
            "message": supervisor.get("message"),
            "updated": ms_to_iso(supervisor.get("updated_ms") or record.heartbeat_ms),
        }

    def get_snapshot_id(self) -> str | None:
        """The id of the source snapshot a submitted run ran from (None for interactive runs)."""
        return self._refresh().snapshot_id

    def restore_snapshot(
        self, snapshot_id: str | None = None, path: str | Path | None = None
    ) -> Path:
        """Write the run's snapshot (or ``snapshot_id``) into ``path`` (default: a folder named
        after the snapshot in the current folder); returns that folder."""
        wanted = snapshot_id or self.get_snapshot_id()
        if wanted is None:
            raise NotFoundError(f"run {self.id} has no snapshot; only submitted runs have one")
        target = Path(path) if path is not None else Path.cwd() / f"snapshot-{wanted[:12]}"
        return self._backend.snapshots.restore(self._workspace_name, wanted, target)
