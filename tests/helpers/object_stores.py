"""Object-store emulators for datastore tests, started on loopback for the test session.

moto's standalone server speaks S3; Azurite (from the npm registry, installed into a cache
folder on first use) speaks Azure Blob Storage. Off CI a missing one skips its tests with
the reason; under CI=true it fails them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import _missing

#: Azurite's well-known development account (public, documented by Microsoft)
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURITE_VERSION = "3"
CACHE = Path(os.environ.get("ATELIER_TEST_CACHE", Path.home() / ".cache" / "atelier-tests"))


@dataclass(frozen=True)
class Endpoint:
    url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _missing(what, f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                pass
        except urllib.error.HTTPError:
            return  # it answers, even if with an error status
        except OSError:
            time.sleep(0.2)
            continue
        return
    process.kill()
    _missing(what, f"did not answer on {url} within 60 s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[Endpoint]:
    """moto's standalone S3 server on a free loopback port."""
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        _missing("moto S3 server", f"{exc}; pip install 'atelier-ml[dev]'")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    _wait_for(url, process, "moto S3 server")
    yield Endpoint(url)
    _stop(process)


def _azurite_binary() -> Path | None:
    """Azurite's blob server, installed from the npm registry into the cache on first use."""
    folder = CACHE / "azurite"
    binary = folder / "node_modules" / ".bin" / "azurite-blob"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    # test workers (pytest -n) share the cache: one installs while the others wait
    with (folder / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            command = ["install", "--no-audit", "--no-fund", "--prefix", str(folder)]
            subprocess.run(
                [npm, *command, f"azurite@{AZURITE_VERSION}"],
                check=False,
                capture_output=True,
                timeout=600,
            )
    return binary if binary.exists() else None


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """Azurite's blob service on a free loopback port; yields the account's blob endpoint."""
    try:
        import adlfs  # noqa: F401
    except ImportError as exc:
        _missing("Azurite", f"{exc}; pip install 'atelier-ml[dev]'")
    binary = _azurite_binary()
    if binary is None:
        _missing("Azurite", "node/npm are not installed, or 'npm install azurite' failed")
    assert binary is not None
    port = free_port()
    location = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            str(binary),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    _wait_for(url, process, "Azurite")
    yield Endpoint(url)
    _stop(process)
