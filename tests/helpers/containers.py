"""The container engine and the Python base image for the tests that need them.

``engine_with_base_image()`` finds the engine and makes the base image (once per machine;
cached in the engine's storage, so later sessions find it at once). On a machine without
them the test skips with the reason; under CI=true it fails.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from atelier.containers import Engine, ensure_base_image, find_engine
from atelier.core.errors import AtelierError

BASE_LOG = Path(tempfile.gettempdir()) / "atelier-tests-base-image.log"


@functools.cache
def _prepare() -> tuple[Engine | None, str]:
    try:
        engine = find_engine()
    except AtelierError as exc:
        return None, f"a container engine: {exc.message}"
    try:
        with BASE_LOG.open("a", encoding="utf-8") as log:
            ensure_base_image(engine, log)
    except AtelierError as exc:
        return None, f"the Python base image: {exc.message} (log: {BASE_LOG})"
    return engine, ""


def engine_with_base_image() -> Engine:
    """The working engine, its storage holding ``BASE_IMAGE``; skips (fails in CI) otherwise."""
    from tests.conftest import _missing

    engine, why = _prepare()
    if engine is None:
        _missing("containers", why)
        raise AssertionError("unreachable")
    return engine
