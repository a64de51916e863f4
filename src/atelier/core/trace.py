"""TEMPORARY profiling trace (not to be committed)."""

import os
import time


def mark(label: str) -> None:
    path = os.environ.get("ATELIER_TRACE_FILE")
    if path:
        with open(path, "a") as handle:
            handle.write(f"{time.time():.3f} {os.getpid()} {label}\n")
