"""Run the scoring app under uvicorn: ``serve(...)`` or ``python -m atelier.serving.server``.

::

    python -m atelier.serving.server --entry-script score.py --source-dir ./src \\
        --model-dir ./model --port 5001 --workers 2 --key PRIMARY --key SECONDARY

Uvicorn starts each worker process from an import string, so the configuration travels
in ``ATELIER_SCORING_*`` environment variables and every worker builds its app with
:func:`app_from_environment`. Keys can also come from ``ATELIER_SCORING_KEYS`` (a JSON
list) so they stay off the command line, where other users could read them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib.util
import json
import mmap
import os
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from atelier.core.errors import ValidationError
from atelier.serving.app import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_TIMEOUT_SECONDS,
    ScoringApp,
    create_app,
)
from atelier.serving.direct import DirectConnections

__all__ = ["app_from_environment", "main", "serve"]

ENTRY_SCRIPT = "ATELIER_SCORING_ENTRY_SCRIPT"
SOURCE_DIRECTORY = "ATELIER_SCORING_SOURCE_DIRECTORY"
MODEL_DIR = "ATELIER_SCORING_MODEL_DIR"
KEYS = "ATELIER_SCORING_KEYS"
MAX_BODY_BYTES = "ATELIER_SCORING_MAX_BODY_BYTES"
TIMEOUT_SECONDS = "ATELIER_SCORING_TIMEOUT_SECONDS"
PARENT_PID = "ATELIER_SCORING_PARENT_PID"
#: set by an endpoint's manager: the descriptor of this replica's end of the handoff channel
HANDOFF_FD = "ATELIER_SCORING_HANDOFF_FD"
#: set by an endpoint's manager: an 8-byte file where the replica keeps its direct in-flight count
LOAD_FILE = "ATELIER_SCORING_LOAD_FILE"


def app_from_environment() -> ScoringApp:
    """The scoring app configured by the ``ATELIER_SCORING_*`` variables (uvicorn's factory)."""
    entry_script = os.environ.get(ENTRY_SCRIPT)
    if not entry_script:
        raise ValidationError(f"set {ENTRY_SCRIPT} to the entry script to serve")
    source_directory = Path(os.environ.get(SOURCE_DIRECTORY) or Path(entry_script).parent)
    model_dir = os.environ.get(MODEL_DIR)
    keys = _keys_from_environment()
    return create_app(
        Path(entry_script),
        source_directory,
        Path(model_dir) if model_dir else None,
        keys,
        max_body_bytes=int(os.environ.get(MAX_BODY_BYTES) or DEFAULT_MAX_BODY_BYTES),
        timeout_seconds=float(os.environ.get(TIMEOUT_SECONDS) or DEFAULT_TIMEOUT_SECONDS),
    )


def _keys_from_environment() -> tuple[str, ...] | None:
    raw = os.environ.get(KEYS)
    if not raw:
        return None
    try:
        keys = json.loads(raw)
    except json.JSONDecodeError:
        raise ValidationError(
            f'{KEYS} must be a JSON list of strings, e.g. ["primary", "secondary"]'
        ) from None
    if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
        raise ValidationError(
            f'{KEYS} must be a JSON list of strings, e.g. ["primary", "secondary"]'
        )
    return tuple(keys) or None


def serve(
    entry_script: Path | str,
    source_directory: Path | str,
    model_dir: Path | str | None,
    port: int,
    host: str = "127.0.0.1",
    workers: int = 1,
    keys: Sequence[str] | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """Serve ``entry_script`` on ``host:port`` until interrupted (blocks).

    Each of the ``workers`` processes imports the script and calls ``init()`` once.
    """
    import uvicorn

    source = Path(source_directory).resolve()
    script = Path(entry_script)
    os.environ[ENTRY_SCRIPT] = str(script if script.is_absolute() else source / script)
    os.environ[SOURCE_DIRECTORY] = str(source)
    if model_dir is not None:
        os.environ[MODEL_DIR] = str(Path(model_dir).resolve())
    else:
        os.environ.pop(MODEL_DIR, None)
    if keys:
        os.environ[KEYS] = json.dumps(list(keys))
    os.environ[MAX_BODY_BYTES] = str(max_body_bytes)
    os.environ[TIMEOUT_SECONDS] = str(timeout_seconds)
    if workers > 1:
        # Fail here, once, on a script without init/run: uvicorn would restart failing workers.
        app_from_environment()
    _exit_with_parent()
    loop = "uvloop" if importlib.util.find_spec("uvloop") is not None else "auto"
    if os.environ.get(HANDOFF_FD, "").isdigit() and workers == 1:
        _serve_replica(host, port, loop)
        return
    uvicorn.run(
        "atelier.serving.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop=loop,
        log_level="info",
    )


def _serve_replica(host: str, port: int, loop: str) -> None:
    """An endpoint's replica: uvicorn on ``host:port`` for the router's proxied requests and
    probes, plus the client connections the router hands over (:mod:`atelier.serving.direct`)."""
    import uvicorn

    app = app_from_environment()
    app.direct_only_metrics = True
    app.deployment = os.environ.get("ATELIER_DEPLOYMENT") or None
    load_file = os.environ.get(LOAD_FILE)
    if load_file:
        with Path(load_file).open("r+b") as handle:
            app.load = memoryview(mmap.mmap(handle.fileno(), 8)).cast("q")
    channel = socket.socket(fileno=int(os.environ[HANDOFF_FD]))
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=loop,
        http="httptools",
        log_level="info",
        access_log=False,
        proxy_headers=False,
        # as the router's: a client's idle connection is closed by the client, not under it
        timeout_keep_alive=75,
    )
    server = uvicorn.Server(config)
    direct = DirectConnections(channel, server, app)

    async def main() -> None:
        async def start_direct() -> None:
            while not server.started:
                if server.should_exit:
                    return
                await asyncio.sleep(0.01)
            direct.start()
            # The model and its libraries are loaded: move what init() left to the
            # permanent generation, so the collector's full passes, which would stall a
            # request for milliseconds each, walk only what requests allocate.
            gc.collect()
            gc.freeze()

        starting = asyncio.ensure_future(start_direct())
        try:
            await server.serve()
        finally:
            starting.cancel()
            direct.close()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(main())


def _exit_with_parent() -> None:
    """With ``ATELIER_SCORING_PARENT_PID`` (set by an endpoint's manager), exit when that
    process is gone, so a replica never outlives the manager that routes to it."""
    raw = os.environ.get(PARENT_PID, "")
    if not raw.isdigit():
        return
    parent = int(raw)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="atelier-parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> None:
    """The command line: parse the arguments and :func:`serve`."""
    parser = argparse.ArgumentParser(
        prog="python -m atelier.serving.server", description="Serve an entry script's init()/run()."
    )
    parser.add_argument("--entry-script", required=True, type=Path, help="the scoring script")
    parser.add_argument("--source-dir", type=Path, help="its folder (default: the script's folder)")
    parser.add_argument("--model-dir", type=Path, help="exposed to init() as AZUREML_MODEL_DIR")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--key", action="append", dest="keys", help="a bearer key; repeat for a second key"
    )
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="run() timeout in seconds"
    )
    args = parser.parse_args(argv)
    keys = args.keys or _keys_from_environment()
    entry_script: Path = args.entry_script
    source_directory: Path | None = args.source_dir
    if source_directory is None:
        entry_script = entry_script.resolve()
        source_directory = entry_script.parent
    serve(
        entry_script,
        source_directory,
        args.model_dir,
        args.port,
        host=args.host,
        workers=args.workers,
        keys=keys,
        max_body_bytes=args.max_body_bytes,
        timeout_seconds=args.timeout,
    )


if __name__ == "__main__":
    main()
