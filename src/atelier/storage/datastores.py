"""Datastores: one fsspec filesystem per kind, loaded lazily, with atomic uploads.

Each kind is registered by name with the module it needs and how to install it (as
fsspec's ``known_implementations``); the core import path loads none of the cloud drivers.
A datastore is a *root* on a filesystem; every path a user gives is relative to it and
may not escape it. Uploads are staged under a hidden prefix and moved into place only
when every file is written, so an interrupted upload leaves nothing visible.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import re
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from atelier.core.data_records import DataFile
from atelier.core.errors import (
    AlreadyExistsError,
    AtelierError,
    NotFoundError,
    PermissionDeniedError,
    StorageError,
)
from atelier.core.names import check_relative_path
from atelier.storage.datastore_drivers import filesystem
from atelier.storage.network_guard import NetworkGuard

#: where uploads are assembled before they become visible; never listed
STAGING = ".atelier-staging"
_CHUNK = 1024 * 1024
#: progress callback: (bytes done, bytes in all, file being worked on)
Progress = Callable[[int, int, str], None]

_AUTH_MARKERS = (
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "ClientAuthenticationError",
    "InvalidClientTokenId",
    "Forbidden",
)
# a bare HTTP status in the driver's text; not a port or a digit run that holds "401"
_AUTH_STATUS = re.compile(r"(?<![\d:./])(401|403)(?!\d)")
_UNREACHABLE_MARKERS = (
    "EndpointConnectionError",
    "ConnectError",
    "ClientConnectorError",
    "ServiceRequestError",
    "Connection refused",
    "ConnectionRefused",
    "Could not connect",
    "Name or service not known",
    "timed out",
)


def _strip_scheme(url: str) -> str:
    return url.split("://", 1)[1] if "://" in url else url


@dataclass(frozen=True, slots=True)
class _Secrets:
    values: tuple[str, ...]
    root: str = "/"

    def scrub(self, text: str) -> str:
        """The text with every credential value (as a whole token) replaced by ``***``,
        and paths relative to the datastore's root (no server path in an error)."""
        if self.root != "/":
            text = text.replace(f"{self.root}/", "").replace(self.root, ".")
        for value in self.values:
            if value:
                token = rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])"
                text = re.sub(token, "***", text)
        return text


class DatastoreFiles:
    """The files of one datastore: list, read, upload (atomically) and download.

    Every error names the datastore and what failed and never contains a credential. On a
    server (``guard``) each address is checked at connect time and errors leave out the
    storage service's own words: a client must not read a remote's replies through them.
    """

    def __init__(
        self,
        name: str,
        kind: str,
        url: str,
        config: dict[str, Any] | None = None,
        credentials: dict[str, str] | None = None,
        guard: NetworkGuard | None = None,
    ) -> None:
        self.name = name
        self._guard = guard
        self.kind = kind
        self.url = url
        root = _strip_scheme(url) if kind != "local" else str(Path(_strip_scheme(url)))
        self.root = root.rstrip("/") or "/"
        self._secrets = _Secrets(tuple((credentials or {}).values()), self.root)
        with self.translate("opening"):
            self.fs: Any = filesystem(kind, dict(config or {}), dict(credentials or {}), guard)

    # --- errors ------------------------------------------------------------------------
    @contextlib.contextmanager
    def translate(self, action: str) -> Iterator[None]:
        """Turn a driver's exception into an ``AtelierError`` naming this datastore."""
        try:
            yield
        except AtelierError:
            raise
        except FileNotFoundError as exc:
            said = "" if self._guard else self._secrets.scrub(str(exc))
            raise NotFoundError(
                f"datastore {self.name!r}: {action} failed: {said or 'no such file or folder'}"
            ) from None
        except Exception as exc:
            raise self._classify(action, exc) from None

    def _classify(self, action: str, exc: BaseException) -> AtelierError:
        detail = self._secrets.scrub(f"{type(exc).__name__}: {exc}").splitlines()[0][:300]
        detail = type(exc).__name__ if self._guard else detail
        text = f"{type(exc).__name__} {exc!r} {exc.__cause__!r}"
        # unreachable first: an endpoint's URL (and so the text) may hold "401" in its port
        if isinstance(exc, ConnectionError | TimeoutError) or any(
            m in text for m in _UNREACHABLE_MARKERS
        ):
            return StorageError(
                f"datastore {self.name!r}: cannot reach its storage service while {action} "
                f"({detail}); check the endpoint and that the service is running"
            )
        if (
            isinstance(exc, PermissionError)
            or any(m in text for m in _AUTH_MARKERS)
            or _AUTH_STATUS.search(text)
        ):
            return PermissionDeniedError(
                f"datastore {self.name!r}: {action} was refused by the storage service "
                f"({detail}); check the datastore's credentials and re-register it with "
                "overwrite=True"
            )
        return StorageError(f"datastore {self.name!r}: {action} failed ({detail})")

    # --- paths ------------------------------------------------------------------------
    def full_path(self, relative: str) -> str:
        """The filesystem path of ``relative`` under the root (never outside it)."""
        if relative in ("", ".", "/"):
            return self.root
        clean = check_relative_path(relative.strip("/"), what="datastore path")
        return f"{self.root}/{clean}" if self.root != "/" else f"/{clean}"

    def relative(self, full: str) -> str:
        full = _strip_scheme(full)
        return full[len(self.root) :].lstrip("/")

    def url_of(self, relative: str) -> str:
        """A URL for the file, e.g. ``s3://bucket/prefix/a.csv``."""
        path = self.full_path(relative)
        return path if self.kind == "local" else f"{self.url.split('://')[0]}://{path}"

    # --- reading ----------------------------------------------------------------------
    def probe(self, create: bool = False) -> None:
        """Check the root can be listed with these credentials (registration); with
        ``create`` a missing bucket or container is created."""
        with self.translate("checking access"):
            if self.kind == "local":
                Path(self.root).mkdir(parents=True, exist_ok=True)
                return
            bucket = self.root.split("/", 1)[0]
            # adlfs warns (and guesses) where it cannot read a container's properties;
            # the listing below answers for certain
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                try:
                    self.fs.ls(bucket, detail=False)
                except FileNotFoundError:
                    if not create:
                        raise NotFoundError(
                            f"datastore {self.name!r}: the bucket or container {bucket!r} "
                            "does not exist (or these credentials cannot see it); create it "
                            "first or pass create_if_not_exists=True"
                        ) from None
                    self.fs.mkdir(bucket)
                    self.fs.ls(bucket, detail=False)

    def list_files(self, pattern: str = "**") -> list[DataFile]:
        """Files under the root matching ``pattern`` (a path, a folder or a glob with
        ``*``, ``?``, ``[..]`` and ``**``), sorted by path; hidden staging is left out."""
        with self.translate(f"listing {pattern!r}"):
            return self._list(pattern)

    def _list(self, pattern: str) -> list[DataFile]:
        clean = pattern.strip().lstrip("/") or "**"
        if clean not in ("**", "*"):
            check_relative_path(clean, what="datastore path")
        if self.kind != "local":
            self.fs.invalidate_cache()
        found: dict[str, Any] = {}
        if any(ch in clean for ch in "*?["):
            prefix = self.full_path(_static_prefix(clean))
            if self.fs.exists(prefix):
                below = self.fs.find(prefix, detail=True)
                wanted = f"{self.root}/{clean}" if self.root != "/" else f"/{clean}"
                for path, info in below.items():
                    if _glob_match(_strip_scheme(path), wanted):
                        found[path] = info
        else:
            full = self.full_path(clean)
            if self.fs.isdir(full):
                found = dict(self.fs.find(full, detail=True))
            elif self.fs.exists(full):
                found = {full: self.fs.info(full)}
        return [
            DataFile(path=self.relative(p), size=int(i.get("size") or 0), mtime_ms=_mtime(i))
            for p, i in sorted(found.items())
            if i.get("type") != "directory" and f"/{STAGING}/" not in f"/{self.relative(p)}"
        ]

    def open(self, relative: str) -> IO[bytes]:
        with self.translate(f"opening {relative!r}"):
            handle: IO[bytes] = self.fs.open(self.full_path(relative), "rb")
            return handle

    def digests(self, relatives: list[str]) -> list[str]:
        """SHA-256 of each file's content (read in parallel for object stores)."""
        with self.translate("hashing files"):
            if self.kind == "local":
                return [_hash_local(Path(self.full_path(r))) for r in relatives]
            with ThreadPoolExecutor(max_workers=8) as pool:
                return list(pool.map(self._hash_remote, relatives))

    def _hash_remote(self, relative: str) -> str:
        hasher = hashlib.sha256()
        with self.fs.open(self.full_path(relative), "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        return hasher.hexdigest()

    # --- writing ------------------------------------------------------------------------
    def upload_files(
        self,
        files: list[tuple[str, Path]],
        overwrite: bool = False,
        progress: Progress | None = None,
    ) -> list[str]:
        """Upload local files to their relative paths; return the paths written.

        Without ``overwrite`` files that already exist are left as they are (and not
        returned). Files are staged first and moved into place only when all are
        written: an interruption leaves nothing new visible.
        """
        targets = [(check_relative_path(rel, what="target path"), local) for rel, local in files]
        for _, local in targets:
            if not local.is_file():
                raise NotFoundError(f"{local} is not a file; give existing files to upload")
        with self.translate("uploading"):
            if not overwrite:
                targets = [(r, p) for r, p in targets if not self.fs.exists(self.full_path(r))]
            if not targets:
                return []
            staging = f"{self.root}/{STAGING}/{uuid.uuid4().hex}"
            try:
                self._stage(targets, staging, progress)
                for rel, _ in targets:
                    self._promote(f"{staging}/{rel}", self.full_path(rel))
            finally:
                with contextlib.suppress(Exception):
                    if self.fs.exists(staging):
                        self.fs.rm(staging, recursive=True)
        return [rel for rel, _ in targets]

    def _stage(
        self, targets: list[tuple[str, Path]], staging: str, progress: Progress | None
    ) -> None:
        total = sum(local.stat().st_size for _, local in targets)
        done = 0
        for rel, local in targets:
            destination = f"{staging}/{rel}"
            self.fs.makedirs(destination.rsplit("/", 1)[0], exist_ok=True)
            with local.open("rb") as source, self.fs.open(destination, "wb") as sink:
                while chunk := source.read(_CHUNK):
                    sink.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, rel)
            if progress is not None:
                progress(done, total, rel)

    def _promote(self, staged: str, final: str) -> None:
        if self.kind == "local":
            Path(final).parent.mkdir(parents=True, exist_ok=True)
            Path(staged).replace(final)
        else:
            self.fs.mv(staged, final)

    def download(
        self,
        relatives: list[str],
        target: Path,
        overwrite: bool = False,
        progress: Progress | None = None,
        strip: str = "",
    ) -> list[Path]:
        """Copy files (paths relative to the root, ``strip`` removed from their front) into
        ``target``; each appears whole (temporary name, then rename). An existing file
        raises ``AlreadyExistsError`` unless ``overwrite``."""
        sizes = {f.path: f.size for f in self.list_files("**")} if progress else {}
        total = sum(sizes.get(r, 0) for r in relatives)
        plan = []
        for rel in relatives:
            local_rel = rel[len(strip) :].lstrip("/") if strip and rel.startswith(strip) else rel
            destination = target / check_relative_path(local_rel)
            if destination.exists() and not overwrite:
                raise AlreadyExistsError(
                    f"{destination} already exists; pass overwrite=True or download elsewhere"
                )
            plan.append((rel, destination))
        written = []
        done = 0
        with self.translate("downloading"):
            for rel, destination in plan:
                destination.parent.mkdir(parents=True, exist_ok=True)
                tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.part")
                try:
                    with self.fs.open(self.full_path(rel), "rb") as source, tmp.open("wb") as sink:
                        while chunk := source.read(_CHUNK):
                            sink.write(chunk)
                            done += len(chunk)
                            if progress is not None:
                                progress(done, total, rel)
                    tmp.replace(destination)
                finally:
                    tmp.unlink(missing_ok=True)
                written.append(destination)
        return written

    def write_bytes(self, relative: str, data: bytes, overwrite: bool = False) -> None:
        """Write one file atomically (through a local temporary file and the staging area)."""
        with tempfile.TemporaryDirectory() as folder:
            local = Path(folder) / "payload"
            local.write_bytes(data)
            written = self.upload_files([(relative, local)], overwrite=overwrite)
        if not written:
            raise AlreadyExistsError(
                f"datastore {self.name!r} already has {relative!r}; pass overwrite=True"
            )

    def remove(self, relative: str) -> None:
        with self.translate(f"removing {relative!r}"):
            path = self.full_path(relative)
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)


def _static_prefix(pattern: str) -> str:
    parts = []
    for part in pattern.split("/"):
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return "/".join(parts)


def _glob_match(path: str, pattern: str) -> bool:
    """fnmatch per path segment, with ``**`` matching any number of segments."""
    return _match_parts(path.strip("/").split("/"), pattern.strip("/").split("/"))


def _match_parts(path: list[str], pattern: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_match_parts(path[i:], rest) for i in range(len(path) + 1))
    return bool(path) and fnmatch.fnmatchcase(path[0], head) and _match_parts(path[1:], rest)


def _mtime(info: dict[str, Any]) -> int:
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return int(value * 1000)
        timestamp = getattr(value, "timestamp", None)
        if callable(timestamp):
            return int(float(timestamp()) * 1000)
        if isinstance(value, str):
            from datetime import datetime

            with contextlib.suppress(ValueError):
                return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return 0


def _hash_local(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()
