"""The drivers behind datastores: which package each kind needs, and the fsspec
filesystem a datastore of each kind is reached through (credentials, endpoint, and the
network guard's pinned addresses are each filesystem's own)."""

from __future__ import annotations

import functools
import importlib
import json
from typing import Any

from atelier.core.errors import ValidationError
from atelier.storage.network_guard import NetworkGuard, pinned

__all__ = ["KNOWN_KINDS", "filesystem", "require_driver"]

#: kind -> (module the kind needs, how to install it)
KNOWN_KINDS: dict[str, tuple[str | None, str]] = {
    "local": (None, "pip install atelier-ml"),
    "s3": ("s3fs", "pip install 'atelier-ml[s3]'"),
    "azure_blob": ("adlfs", "pip install 'atelier-ml[azure]'"),
    "gcs": ("gcsfs", "pip install 'atelier-ml[gcs]'"),
}


def require_driver(kind: str) -> None:
    """Import the kind's driver now; a missing one says how to install it."""
    if kind not in KNOWN_KINDS:
        raise ValidationError(
            f"unknown datastore kind {kind!r}; use one of {', '.join(sorted(KNOWN_KINDS))}"
        )
    module, hint = KNOWN_KINDS[kind]
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ValidationError(
            f"{kind} datastores need the {module} package, which is not installed; {hint}"
        ) from exc


@functools.cache
def _botocore_loader() -> Any:
    """botocore's loader of its data files (endpoints, the S3 service model), shared by the
    process: a new session loads and parses them again (about 0.1 s of CPU), which each
    datastore call would pay, since every filesystem is made anew (credentials and the
    network guard's pinned addresses are its own)."""
    from botocore.loaders import create_loader

    return create_loader()


def _s3_session() -> Any:
    """A session of its own for each filesystem (sessions are not shared across threads),
    reading botocore's data through the shared loader; credentials go to its client."""
    from aiobotocore.session import AioSession

    session = AioSession()
    session.register_component("data_loader", _botocore_loader())
    return session


def filesystem(
    kind: str, config: dict[str, Any], credentials: dict[str, str], guard: NetworkGuard | None
) -> Any:
    require_driver(kind)
    if kind == "local":
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()
    if kind == "s3":
        import s3fs

        fs = s3fs.S3FileSystem(
            session=_s3_session(),
            key=credentials.get("access_key_id") or None,
            secret=credentials.get("secret_access_key") or None,
            token=credentials.get("session_token") or None,
            anon=not credentials and bool(config.get("anonymous")),
            endpoint_url=config.get("endpoint_url") or None,
            # us-east-1 is S3's default and may not be named when creating a bucket
            client_kwargs={"region_name": config["region"]} if config.get("region") else None,
            config_kwargs={"connect_timeout": 5, "retries": {"max_attempts": 2}, **pinned(guard)},
            skip_instance_cache=True,
        )
        # s3fs retries five times with growing pauses; an endpoint that refuses connections
        # should be reported within seconds
        fs.retries = 2
        return fs
    if kind == "azure_blob":
        import adlfs

        options: dict[str, Any] = {"account_name": config.get("account_name")}
        endpoint = config.get("endpoint")
        if endpoint:
            secret = (
                f"AccountKey={credentials['account_key']}"
                if credentials.get("account_key")
                else f"SharedAccessSignature={credentials.get('sas_token', '').lstrip('?')}"
            )
            options = {
                "connection_string": f"DefaultEndpointsProtocol={endpoint.split('://')[0]};"
                f"AccountName={config.get('account_name')};{secret};BlobEndpoint={endpoint};"
            }
        else:
            options["account_key"] = credentials.get("account_key") or None
            options["sas_token"] = credentials.get("sas_token") or None
        return adlfs.AzureBlobFileSystem(skip_instance_cache=True, **options)
    import gcsfs

    token: Any = credentials.get("service_account_json") or "anon"
    if isinstance(token, str) and token.strip().startswith("{"):
        token = json.loads(token)
    return gcsfs.GCSFileSystem(
        project=config.get("project") or None,
        token=token,
        endpoint_url=config.get("endpoint_url") or None,
        skip_instance_cache=True,
    )
