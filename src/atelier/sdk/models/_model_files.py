"""Where a model's files are: the asset of a local file or folder being registered, and
``Model.get_model_path`` (a serving folder, or a download cached under ``ATELIER_HOME``)."""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import TYPE_CHECKING

from atelier.core.errors import AlreadyExistsError, NotFoundError, ValidationError
from atelier.core.names import check_model_name, check_relative_path, check_version
from atelier.core.paths import folder_files
from atelier.core.settings import load_settings
from atelier.sdk.tracking.run import ENV_RUN_ID, Run

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

#: a folder laid out as ``<name>/<version>/<asset>``, set for scripts that serve models
ENV_MODEL_DIR = "ATELIER_MODEL_DIR"
#: azureml's variable: that same layout, or one model's ``<name>/<version>`` folder itself
ENV_AZUREML_MODEL_DIR = "AZUREML_MODEL_DIR"
#: hidden entries in a model folder (downloads being assembled) that are not the asset
_HIDDEN_PREFIX = ".atelier-"


def model_path(model_name: str, version: int | str | None, workspace: Workspace | None) -> str:
    """``Model.get_model_path``: the asset from ``$ATELIER_MODEL_DIR``, ``$AZUREML_MODEL_DIR``,
    or a cached download from ``workspace`` (inside a run: the run's workspace)."""
    check_model_name(model_name)
    number = None if version is None else check_version("model", version)
    searched = []
    for variable in (ENV_MODEL_DIR, ENV_AZUREML_MODEL_DIR):
        root = os.environ.get(variable)
        if root:
            searched.append(f"${variable}={root}")
            found = _in_model_dir(Path(root), model_name, number)
            if found is not None:
                return str(found)
    workspace = workspace or _context_workspace()
    if workspace is None:
        where = ", ".join(searched) or f"no ${ENV_MODEL_DIR} is set"
        raise NotFoundError(
            f"model {model_name!r} version {number or 'latest'} is not on this machine "
            f"({where}); pass _workspace=ws to download it from a workspace"
        )
    return str(_cached_copy(workspace, model_name, number))


def local_files(
    path: Path, child_paths: builtins.list[str] | None
) -> builtins.list[tuple[str, Path]]:
    """``(path inside the model, local path)`` for a file or a folder, named by its base name."""
    if not path.exists():
        raise NotFoundError(f"model_path {str(path)!r} does not exist; give a file or a folder")
    # the name as given, with '.' and '..' folded; the name of a link, not of its target
    asset = Path(os.path.abspath(path)).name  # noqa: PTH100 - Path.resolve() follows links
    if path.is_file():
        if child_paths:
            raise ValidationError("child_paths only applies when model_path is a folder")
        return [(asset, path)]
    found = folder_files(path)
    if child_paths is not None:
        found = _only_children(path, found, child_paths)
    if not found:
        raise ValidationError(f"the folder {path} has no files to register")
    return [(f"{asset}/{relative}", local) for relative, local in found]


def _only_children(
    folder: Path, found: builtins.list[tuple[str, Path]], child_paths: builtins.list[str]
) -> builtins.list[tuple[str, Path]]:
    kept: dict[str, Path] = {}
    for child in child_paths:
        clean = check_relative_path(child, what="child path")
        below = [(r, p) for r, p in found if r == clean or r.startswith(clean + "/")]
        if not below:
            raise NotFoundError(f"child path {child!r} is not a file or folder in {folder}")
        kept.update(below)
    return sorted(kept.items())


def _in_model_dir(root: Path, name: str, version: int | None) -> Path | None:
    """The asset in a ``<name>/<version>/<asset>`` folder, or in azureml's single-model
    folder (``root`` is ``.../<name>/<version>`` itself); None if it is not there."""
    if (root / name).is_dir():
        chosen = version if version is not None else _latest_version(root / name)
        return None if chosen is None else _single_entry(root / name / str(chosen))
    single = root.parent.name == name and root.name.isdigit()
    if single and (version is None or int(root.name) == version):
        return _single_entry(root)
    return None


def _latest_version(folder: Path) -> int | None:
    versions = [int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()]
    return max(versions, default=None)


def _single_entry(folder: Path) -> Path | None:
    """The one file or folder a model version's folder holds (azureml's rule)."""
    if not folder.is_dir():
        return None
    entries = [p for p in folder.iterdir() if not p.name.startswith(_HIDDEN_PREFIX)]
    if not entries:
        return None
    if len(entries) > 1:
        raise ValidationError(
            f"{folder} must hold exactly one file or folder, the model; it holds "
            f"{sorted(p.name for p in entries)}"
        )
    return entries[0]


def _context_workspace() -> Workspace | None:
    """The workspace of the run this process was started for, if any."""
    if not os.environ.get(ENV_RUN_ID):
        return None
    context = Run.get_context(allow_offline=False)
    return context.experiment.workspace if isinstance(context, Run) else None


def _cached_copy(workspace: Workspace, name: str, version: int | None) -> Path:
    """The model downloaded once into ``$ATELIER_HOME/models``; later calls reuse it.

    The folder carries the model's unique id as well as its version, because deleting a
    name's latest version frees that number for the next registration."""
    record = workspace._backend.models.get(workspace.name, name, version)
    home = load_settings().home.expanduser().resolve()
    folder = home / "models" / workspace.name / name / f"{record.version}-{record.id[:12]}"
    cached = _single_entry(folder)
    if cached is not None:
        return cached
    try:
        return workspace._backend.models.download(
            workspace.name, name, record.version, folder, exist_ok=False
        )
    except AlreadyExistsError:  # another process finished the same download first
        found = _single_entry(folder)
        if found is None:
            raise
        return found
