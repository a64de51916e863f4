"""The HTTP side of the client: one keep-alive connection pool, problem bodies turned
back into the same ``AtelierError`` subclasses the embedded backend raises, and the
credentials ``atelier login`` keeps."""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx

from atelier.core import errors
from atelier.core.settings import load_settings
from atelier.core.tls_context import ssl_context

CREDENTIALS_FILE = "credentials.json"
_CHUNK = 1024 * 1024

_BY_STATUS: dict[int, type[errors.AtelierError]] = {
    400: errors.ValidationError,
    401: errors.UnauthenticatedError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    409: errors.ConflictError,
    413: errors.ValidationError,
    415: errors.ValidationError,
    422: errors.ValidationError,
}


def error_from(response: httpx.Response) -> errors.AtelierError:
    """The ``AtelierError`` a problem answer stands for (by its ``code``, else its status)."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    detail = str(body.get("detail") or response.reason_phrase or "request failed")
    cls = errors.ERRORS_BY_CODE.get(str(body.get("code", ""))) or _BY_STATUS.get(
        response.status_code
    )
    if cls is None:
        cls = errors.StoreError if response.status_code >= 500 else errors.AtelierError
    return cls(detail)


#: methods a server may receive twice without a different outcome
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: pauses before each retry of a request whose connection failed: about 3 s in all, the
#: time a server's worker takes to come back after it was killed
RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def _replayable(kwargs: dict[str, Any]) -> bool:
    """Whether the request's body can be sent again: none, bytes or text (not a stream or
    an open file, which the first attempt consumed)."""
    content = kwargs.get("content")
    return content is None or isinstance(content, bytes | str)


def segment(value: object) -> str:
    """One path segment, quoted so no character of it can change the URL's structure."""
    return quote(str(value), safe="")


def file_path(value: str) -> str:
    return quote(value, safe="/")


class Transport:
    """An ``httpx.Client`` bound to one server and token."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        self.token = token or ""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.client = httpx.Client(
            base_url=self.url + "/api/v1",
            headers=headers,
            timeout=httpx.Timeout(120.0, connect=10.0),
            verify=ssl_context(),
        )

    def request(
        self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Send a request; a connection that failed is retried (``RETRY_PAUSES``): one
        refused or never opened always, one reset after the request left (a worker killed,
        a kept-alive connection the server closed) only when the request is idempotent
        (``idempotent``, by default its method) and its body can be sent again."""
        if "json" in kwargs:  # httpx refuses NaN; metrics may be NaN or infinite
            kwargs["content"] = json.dumps(kwargs.pop("json"), allow_nan=True)
            kwargs["headers"] = {**kwargs.get("headers", {}), "Content-Type": "application/json"}
        if idempotent is None:
            idempotent = method.upper() in IDEMPOTENT_METHODS
        replayable = _replayable(kwargs)
        for pause in (*RETRY_PAUSES, None):
            try:
                response = self.client.request(method, path, **kwargs)
                break
            except httpx.HTTPError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                in_doubt = isinstance(
                    exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError
                )
                again = never_sent or (in_doubt and idempotent)
                if pause is None or not replayable or not again:
                    raise errors.StoreError(
                        f"cannot reach the Atelier server at {self.url}: {exc}; check the URL "
                        "and that it runs ('atelier server start')"
                    ) from exc
                time.sleep(pause)
        if response.status_code >= 400:
            raise error_from(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def pages(self, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> list[Any]:
        """Every item of a paginated listing (GET, or POST when ``json=`` is given)."""
        method = "POST" if "json" in kwargs else "GET"
        items: list[Any] = []
        query = dict(params or {})
        while True:
            body = self.json(method, path, params=query, idempotent=True, **kwargs)
            items.extend(body["items"])
            token = body.get("next_page_token")
            if not token:
                return items
            query["page_token"] = token

    @contextlib.contextmanager
    def stream(self, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self.client.stream("GET", path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise error_from(response)
                yield response
        except httpx.HTTPError as exc:
            raise errors.StoreError(f"download from {self.url} failed: {exc}") from exc

    def download(self, path: str, destination: Path) -> None:
        """Stream a file to ``destination`` through a temporary name, then rename."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
        )
        try:
            with os.fdopen(fd, "wb") as sink, self.stream(path) as response:
                for chunk in response.iter_bytes(_CHUNK):
                    sink.write(chunk)
            Path(tmp).replace(destination)
        finally:
            Path(tmp).unlink(missing_ok=True)

    def close(self) -> None:
        self.client.close()


def iter_stream(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(_CHUNK):
        yield chunk


@contextlib.contextmanager
def tar_of(files: list[tuple[str, Path, int | None]]) -> Iterator[IO[bytes]]:
    """A tar stream of (name, local file, mode or None) in a spooled temporary file:
    memory for small uploads, disk for large ones; links are followed (their content
    is sent as a regular file, so nothing outside the folder is named)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with tarfile.open(fileobj=spool, mode="w|") as archive:
            for name, local, mode in files:
                try:
                    with local.open("rb") as handle:
                        info = archive.gettarinfo(fileobj=handle, arcname=name)
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        if mode is not None:
                            info.mode = mode
                        archive.addfile(info, handle)
                except OSError as exc:
                    raise errors.StorageError(f"cannot read {local}: {exc}") from exc
        spool.seek(0)
        yield spool


def credentials_path(home: str | Path | None = None) -> Path:
    settings = load_settings(home)
    return settings.home.expanduser() / CREDENTIALS_FILE


def read_credentials(home: str | Path | None = None) -> dict[str, str] | None:
    """The ``{"url", "token"}`` that ``atelier login`` stored, or None."""
    path = credentials_path(home)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise errors.HomeError(
            f"the Atelier home {path.parent} is a file, not a folder; set ATELIER_HOME to "
            f"another folder, or repair {path.parent}"
        ) from None
    except PermissionError:
        raise errors.HomeError(
            f"cannot read {path}: permission denied; fix the permissions of {path.parent} "
            "or set ATELIER_HOME to another folder"
        ) from None
    except (OSError, ValueError) as exc:
        raise errors.ValidationError(
            f"cannot read {path}: {exc}; log in again with 'atelier login --url URL'"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    return {"url": data["url"], "token": str(data.get("token", ""))}


def write_credentials(url: str, token: str, home: str | Path | None = None) -> Path:
    """Store url and token readable by this user only (mode 0600, written atomically)."""
    path = credentials_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{CREDENTIALS_FILE}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"url": url.rstrip("/"), "token": token}, handle)
    tmp.chmod(0o600)
    tmp.replace(path)
    return path


def forget_credentials(home: str | Path | None = None) -> bool:
    path = credentials_path(home)
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed
