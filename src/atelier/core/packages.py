"""Model packages (images): their records and naming rules.

A package is immutable once created: a version of an image name in a workspace's image
registry, made of content-addressed files and a JSON manifest describing them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from atelier.core.errors import ValidationError

__all__ = [
    "IMAGE_LABEL_RULE",
    "IMAGE_NAME_MAX",
    "IMAGE_NAME_RULE",
    "PackageFileRecord",
    "PackageRecord",
    "check_image_label",
    "check_image_name",
    "default_image_name",
]

# Docker's repository grammar: lowercase components joined by '.', '_', '__' or dashes,
# optionally split by '/'
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_IMAGE_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
IMAGE_NAME_MAX = 128
IMAGE_NAME_RULE = (
    "lowercase letters and digits, joined by '.', '_', '__' or '-', optionally in "
    "'/'-separated parts, at most 128 characters (e.g. 'iris-scorer')"
)
IMAGE_LABEL_RULE = (
    "1-128 letters, digits, '_', '.' and '-', not starting with '.' or '-' (e.g. 'v1')"
)


@dataclass(frozen=True, slots=True)
class PackageFileRecord:
    """One file of a package: its path in the build context and the blob holding it."""

    path: str
    digest: str
    size: int


@dataclass(frozen=True, slots=True)
class PackageRecord:
    """A package version: ``manifest`` describes what it holds (models, entry script,
    environment, files with their digests); ``digest`` is the manifest's SHA-256."""

    id: str
    name: str
    version: int
    label: str | None
    digest: str
    created_ms: int
    manifest: dict[str, Any] = field(default_factory=dict)
    log: str = ""


def check_image_name(name: object) -> str:
    if not isinstance(name, str) or len(name) > IMAGE_NAME_MAX or not _IMAGE_NAME.fullmatch(name):
        raise ValidationError(f"invalid image name {name!r}: use {IMAGE_NAME_RULE}")
    return name


def check_image_label(label: object) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or not _IMAGE_LABEL.fullmatch(label):
        raise ValidationError(f"invalid image label {label!r}: use {IMAGE_LABEL_RULE}")
    return label


def default_image_name(model_name: str) -> str:
    """An image name made from a model's name: lowercased, other characters as '-'."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")[:IMAGE_NAME_MAX]
    return cleaned if cleaned and _IMAGE_NAME.fullmatch(cleaned) else "package"
