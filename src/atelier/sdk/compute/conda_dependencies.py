"""``CondaDependencies``: the Python version, conda packages and pip packages of an environment.

The names and shapes follow ``azureml.core.conda_dependencies``. Atelier builds
environments with uv from the pip list; conda packages need conda on the machine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from atelier.core.errors import NotFoundError, ValidationError

_PYTHON_PIN = re.compile(r"python\s*={1,2}\s*(\d+\.\d+(?:\.\d+)?)(?:\.\*)?")
_PYTHON_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")
_COMMENT = re.compile(r"(^|\s)#.*$")
_INCLUDE = re.compile(r"^(?:-r|--requirement)(?:\s+|=)(.+)$")


def check_python_version(version: object) -> str | None:
    """``"3.11"`` or ``"3.11.4"`` (or None); ``ValidationError`` for anything else."""
    if version is None:
        return None
    if not isinstance(version, str) or not _PYTHON_VERSION.fullmatch(version.strip()):
        raise ValidationError(
            f"invalid python version {version!r}: give major.minor such as '3.11'"
        )
    return version.strip()


def _check_package(kind: str, package: object) -> str:
    if not isinstance(package, str) or not package.strip() or "\n" in package:
        raise ValidationError(f"a {kind} package must be a one-line string, not {package!r}")
    return package.strip()


def read_requirements(path: Path, _seen: frozenset[Path] = frozenset()) -> list[str]:
    """The requirement and option lines of a pip requirements file, ``-r`` files inlined.

    Comments, blank lines and line continuations are resolved as pip does. Raises
    ``NotFoundError`` if a file is missing and ``ValidationError`` on a ``-r`` cycle.
    """
    resolved = path.expanduser().resolve()
    if resolved in _seen:
        raise ValidationError(f"requirements file {path} includes itself through '-r'")
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFoundError(f"requirements file {path} not found; check the path") from exc
    lines: list[str] = []
    for raw in text.replace("\\\n", "").splitlines():
        line = _COMMENT.sub("", raw).strip()
        if not line:
            continue
        include = _INCLUDE.match(line)
        if include:
            lines.extend(
                read_requirements(resolved.parent / include[1].strip(), _seen | {resolved})
            )
        else:
            lines.append(line)
    return lines


class CondaDependencies:
    """The packages of an environment: ``python_version``, conda packages, pip packages.

    ``CondaDependencies.create(pip_packages=["scikit-learn"], python_version="3.11")``
    builds one; ``CondaDependencies("environment.yml")`` reads a conda file.
    """

    def __init__(
        self,
        conda_dependencies_file_path: str | Path | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        self._python_version: str | None = None
        self._conda: list[str] = []
        self._pip: list[str] = []
        self._channels: list[str] = []
        #: a conda file's ``variables:``; Environment.from_conda_specification applies them
        self._variables: dict[str, str] = {}
        if conda_dependencies_file_path is not None:
            path = Path(conda_dependencies_file_path)
            self._load(_read_yaml(path), path.parent)
        elif _underlying_structure is not None:
            self._load(_underlying_structure, Path.cwd())

    # --- construction ---------------------------------------------------------------
    @staticmethod
    def create(
        pip_packages: Iterable[str] | None = None,
        conda_packages: Iterable[str] | None = None,
        python_version: str | None = None,
        pip_indexurl: str | None = None,
        pin_sdk_version: bool = True,
    ) -> CondaDependencies:
        """New dependencies from package lists; ``ValidationError`` for a malformed entry."""
        del pin_sdk_version  # azureml pins its own SDK; there is nothing to pin here
        deps = CondaDependencies()
        deps.set_python_version(python_version)
        if pip_indexurl:
            deps.add_pip_package(f"--index-url {pip_indexurl}")
        for package in pip_packages or ():
            deps.add_pip_package(package)
        for package in conda_packages or ():
            deps.add_conda_package(package)
        return deps

    @classmethod
    def _from_file(cls, path: str | Path) -> CondaDependencies:
        """Read a conda environment YAML; ``NotFoundError`` / ``ValidationError`` if unusable."""
        return cls(conda_dependencies_file_path=path)

    def _load(self, data: dict[str, Any], base: Path) -> None:
        channels = data.get("channels") or []
        dependencies = data.get("dependencies") or []
        if not isinstance(channels, list) or not isinstance(dependencies, list):
            raise ValidationError("'channels' and 'dependencies' of a conda file must be lists")
        variables = data.get("variables") or {}
        if not isinstance(variables, dict):
            raise ValidationError(
                "'variables' of a conda file must be a mapping of names to values"
            )
        self._variables = {str(k): str(v) for k, v in variables.items()}
        for channel in channels:
            self.add_channel(str(channel))
        for item in dependencies:
            if isinstance(item, dict):
                self._load_pip_section(item, base)
            else:
                self._load_conda_entry(str(item))

    def _load_pip_section(self, item: dict[str, Any], base: Path) -> None:
        if set(item) != {"pip"} or not isinstance(item["pip"], list):
            raise ValidationError(
                f"unexpected conda dependency {item!r}; only a 'pip:' list may be nested"
            )
        for entry in item["pip"]:
            include = _INCLUDE.match(str(entry).strip())
            if include:
                for line in read_requirements(base / include[1].strip()):
                    self.add_pip_package(line)
            else:
                self.add_pip_package(str(entry))

    def _load_conda_entry(self, entry: str) -> None:
        spec = entry.strip()
        name = re.split(r"[\s=<>!~]", spec.split("::")[-1], maxsplit=1)[0].lower()
        if name == "python":
            pin = _PYTHON_PIN.fullmatch(spec)
            if spec != "python" and pin is None:
                raise ValidationError(
                    f"cannot use {spec!r}: pin Python as 'python=3.11' (major.minor) "
                    "or leave the version out"
                )
            self._python_version = pin[1] if pin else None
        elif name != "pip":  # pip itself comes with every environment Atelier builds
            self.add_conda_package(spec)

    # --- editing ---------------------------------------------------------------------
    def set_python_version(self, version: str | None) -> None:
        """Pin the Python version (``"3.11"``); None means the machine's Python."""
        self._python_version = check_python_version(version)

    def get_python_version(self) -> str | None:
        return self._python_version

    def add_pip_package(self, pip_package: str) -> None:
        """Add a requirement (``"scikit-learn>=1.4"``) or a pip option line, once."""
        package = _check_package("pip", pip_package)
        if package not in self._pip:
            self._pip.append(package)

    def remove_pip_package(self, pip_package: str) -> None:
        self._pip = [p for p in self._pip if p != pip_package and _name(p) != _name(pip_package)]

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package spec (``"numpy=1.26"``); building it needs conda on the machine."""
        package = _check_package("conda", conda_package)
        if package not in self._conda:
            self._conda.append(package)

    def remove_conda_package(self, conda_package: str) -> None:
        self._conda = [
            p for p in self._conda if p != conda_package and _name(p) != _name(conda_package)
        ]

    def add_channel(self, channel: str) -> None:
        if channel not in self._channels:
            self._channels.append(channel)

    # --- reading ---------------------------------------------------------------------
    @property
    def pip_packages(self) -> list[str]:
        return list(self._pip)

    @property
    def conda_packages(self) -> list[str]:
        return list(self._conda)

    @property
    def conda_channels(self) -> list[str]:
        return list(self._channels)

    def serialize_to_string(self) -> str:
        """The dependencies as a conda environment YAML document."""
        dependencies: list[Any] = []
        if self._python_version:
            dependencies.append(f"python={self._python_version}")
        dependencies.extend(self._conda)
        if self._pip:
            dependencies.extend(["pip", {"pip": list(self._pip)}])
        data: dict[str, Any] = {"name": "project_environment"}
        if self._channels:
            data["channels"] = list(self._channels)
        data["dependencies"] = dependencies
        import yaml  # YAML is read and written on demand: kept out of `import atelier`

        return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)

    def save(self, path: str | Path) -> str:
        """Write :meth:`serialize_to_string` to ``path``; returns the path written."""
        target = Path(path)
        target.write_text(self.serialize_to_string(), encoding="utf-8")
        return str(target)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CondaDependencies):
            return NotImplemented
        return (
            self._python_version == other._python_version
            and sorted(self._pip) == sorted(other._pip)
            and sorted(self._conda) == sorted(other._conda)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable like a list

    def __repr__(self) -> str:
        return (
            f"CondaDependencies(python_version={self._python_version!r}, "
            f"conda_packages={self._conda!r}, pip_packages={self._pip!r})"
        )


def _name(requirement: str) -> str:
    return re.split(r"[\s\[=<>!~;@]", requirement.strip(), maxsplit=1)[0].lower()


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml  # see serialize_to_string

    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFoundError(f"conda file {path} not found; check the path") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"conda file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError(
            f"conda file {path} must be a mapping with 'dependencies:', not {type(data).__name__}"
        )
    return data
