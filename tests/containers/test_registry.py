"""``atelier server start``'s registry: attach to ATELIER_REGISTRY_URL's, run one, or none."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from atelier.containers.registry import REGISTRY_URL_VARIABLE, run_or_attach
from atelier.core.errors import ImageRegistryError
from tests.conftest import _missing


def test_run_attach_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("docker-registry") is None and not Path("/usr/bin/docker-registry").is_file():
        _missing("docker-registry", "'apt-get install docker-registry' runs the image registry")
    # set, then removed: the monkeypatch restores the variable that run_or_attach sets
    monkeypatch.setenv(REGISTRY_URL_VARIABLE, "")
    monkeypatch.delenv(REGISTRY_URL_VARIABLE)
    assert run_or_attach(tmp_path / "none", run=False) == (None, None)
    process, ran = run_or_attach(tmp_path / "reg", run=True, port=0)
    assert process is not None and ran is not None
    try:
        assert os.environ[REGISTRY_URL_VARIABLE] == ran.url  # the server's SDK calls use it
        assert (tmp_path / "reg" / "config.yml").is_file() and ran.repositories() == []
        again, attached = run_or_attach(tmp_path / "other", run=True)
        assert again is None and attached is not None and attached.url == ran.url
    finally:
        process.terminate()
        process.wait()
    with pytest.raises(ImageRegistryError, match="cannot be reached"):
        run_or_attach(tmp_path / "reg", run=True)
