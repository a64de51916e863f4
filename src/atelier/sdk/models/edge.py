"""Edge bundles: one offline tar that starts a package's scoring server on a machine with
podman or docker and no network, as an IoT Edge module would.

The bundle holds ``image.oci.tar`` (the image as an OCI archive), ``manifest.json`` (what
the image serves, its reference and digest) and ``run.sh`` (loads the image and runs it,
publishing the scoring port on loopback). It is written beside its final place and renamed
there, so it appears whole or not at all.
"""

from __future__ import annotations

import json
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atelier.containers import find_engine
from atelier.core.errors import AlreadyExistsError
from atelier.execution import packaging

if TYPE_CHECKING:
    from atelier.sdk.models.package import ModelPackage

__all__ = ["BUNDLE_SCHEMA", "write_edge_bundle"]

BUNDLE_SCHEMA = "atelier-edge-bundle/1"
IMAGE_ARCHIVE = "image.oci.tar"
RUN_SCRIPT = "run.sh"

_RUN = """#!/bin/sh
# Starts the scoring server of {reference} from this bundle, offline, with podman or
# docker (ATELIER_ENGINE chooses). PORT (default {port}) is published on 127.0.0.1 (HOST
# changes that); ATELIER_SCORING_KEYS='["key1", "key2"]' sets the keys (default: one
# random key, printed). Stop with Ctrl+C.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
engine=${{ATELIER_ENGINE:-$(command -v podman || command -v docker || true)}}
if [ -z "$engine" ]; then
  echo "neither podman nor docker is installed: install one (apt-get install podman)" >&2
  exit 1
fi
if [ -z "${{ATELIER_SCORING_KEYS:-}}" ]; then
  key=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \\n')
  ATELIER_SCORING_KEYS="[\\"$key\\"]"
  echo "scoring key: $key" >&2
fi
export ATELIER_SCORING_KEYS
"$engine" load -i "$here/{archive}" >&2
exec "$engine" run --rm --name "${{ATELIER_CONTAINER_NAME:-atelier-edge-{name}}}" \\
  --publish "${{HOST:-127.0.0.1}}:${{PORT:-{port}}}:{port}" \\
  --env ATELIER_SCORING_KEYS "{reference}"
"""


def write_edge_bundle(package: ModelPackage, output: Path, overwrite: bool = False) -> Path:
    """Write the edge bundle of ``package`` (its image built or pulled first) to
    ``output``; ``AlreadyExistsError`` when it exists and not ``overwrite``."""
    output = output.resolve()
    if output.exists() and not overwrite:
        raise AlreadyExistsError(f"{output} already exists; pass --overwrite to replace it")
    engine = find_engine()
    reference = package.pull()
    manifest: dict[str, Any] = {
        "schema": BUNDLE_SCHEMA,
        "image": reference,
        "imageArchive": IMAGE_ARCHIVE,
        "imageId": engine.image_id(reference),
        "package": package.serialize(),
        "port": packaging.IMAGE_PORT,
        "run": f"sh {RUN_SCRIPT}",
        "createdTime": datetime.now(UTC).isoformat(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".edge-", dir=output.parent) as scratch:
        folder = Path(scratch)
        engine.save_image(reference, folder / IMAGE_ARCHIVE)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        script = _RUN.format(
            reference=reference,
            port=packaging.IMAGE_PORT,
            archive=IMAGE_ARCHIVE,
            name=f"{package.image_name.replace('/', '-')}-{package.version}",
        )
        (folder / RUN_SCRIPT).write_text(script)
        (folder / RUN_SCRIPT).chmod(0o755)
        partial = folder / "bundle.tar"
        with tarfile.open(partial, "w") as bundle:
            for member in (RUN_SCRIPT, "manifest.json", IMAGE_ARCHIVE):
                bundle.add(folder / member, arcname=member)
        partial.replace(output)
    return output
