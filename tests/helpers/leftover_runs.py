"""Runs a test leaves running stop writing when the test ends.

A run started in the test process (``start_logging``, ``Run.get_context`` offline or
not) and never completed keeps, as in a user's process, a metric writer thread that wakes
twice a second and a heartbeat every five seconds until the process exits. In a test
process that outlives hundreds of tests, those of finished tests added up to about 20 s of
CPU per suite. The fixtures that give a test its home close what the test left open."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from atelier.core.errors import AtelierError
from atelier.sdk.tracking import _writer


@contextlib.contextmanager
def closed_at_end() -> Iterator[None]:
    """Close (write what is buffered, stop heartbeating) every metric writer opened inside
    the block and still open at its end."""
    before = set(_writer._live)
    try:
        yield
    finally:
        for writer in set(_writer._live) - before:
            with contextlib.suppress(AtelierError):  # the test may have stopped its store
                writer.close()
