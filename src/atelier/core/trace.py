"""TEMPORARY profiling trace (not to be committed)."""

import os
import time
from pathlib import Path


def mark(label: str) -> None:
    path = os.environ.get("ATELIER_TRACE_FILE")
    if path:
        with Path(path).open("a") as handle:
            handle.write(f"{time.time():.3f} {os.getpid()} {label}\n")
