"""Naming rules of the data area, each stated in the error it raises."""

from __future__ import annotations

import re

from atelier.core.errors import ValidationError

_DATASTORE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]{0,99}")
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,254}")
_INPUT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")

DATASTORE_RULE = "1-100 characters: letters, digits and '_', starting with a letter or digit"
DATASET_RULE = (
    "1-255 characters: letters, digits, '-', '_' and '.', starting with a letter or digit"
)
INPUT_RULE = "1-255 characters: letters, digits and '_', not starting with a digit"


def check_datastore_name(name: object) -> str:
    if not isinstance(name, str) or not _DATASTORE.fullmatch(name):
        raise ValidationError(f"invalid datastore name {name!r}: use {DATASTORE_RULE}")
    return name


def check_dataset_name(name: object) -> str:
    if not isinstance(name, str) or not _DATASET.fullmatch(name):
        raise ValidationError(f"invalid dataset name {name!r}: use {DATASET_RULE}")
    return name


def check_input_name(name: object) -> str:
    """The name a run's script asks for an input by (``input_datasets['iris']``)."""
    if not isinstance(name, str) or not _INPUT.fullmatch(name):
        raise ValidationError(f"invalid input name {name!r}: use {INPUT_RULE}")
    return name


#: URL scheme -> datastore kind
SCHEMES = {"file": "local", "s3": "s3", "az": "azure_blob", "abfs": "azure_blob", "gs": "gcs"}


def kind_of_url(url: str) -> str:
    """The datastore kind a URL names (a plain path is ``local``)."""
    if "://" not in url:
        return "local"
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        raise ValidationError(
            f"datastore URL {url!r} has an unknown scheme {scheme!r}; use a folder path, "
            "file://, s3://, az:// or gs://"
        )
    return SCHEMES[scheme]


def normalize_datastore_url(url: object) -> tuple[str, str]:
    """``(kind, url)``: a local folder as an absolute path, object stores as given."""
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"a datastore URL must be a non-empty string, not {url!r}")
    kind = kind_of_url(url.strip())
    if kind == "local":
        import os
        from pathlib import Path

        path = url.strip().removeprefix("file://")
        return kind, os.path.abspath(Path(path).expanduser())  # noqa: PTH100 - keeps links
    bucket = url.split("://", 1)[1].split("/", 1)[0]
    if not bucket:
        raise ValidationError(f"datastore URL {url!r} names no bucket or container")
    return kind, url.strip().rstrip("/")
