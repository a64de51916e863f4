"""The container engine: finding one that works here, and the commands Atelier gives it.

Podman comes first (it needs no daemon), then Docker. An engine counts only when
``<engine> info`` succeeds: a Docker client without a running daemon does not. Podman is
pointed at a containers.conf of the project's (``CONTAINERS_CONF``): the runc runtime and
default ulimits the machine's hard limits allow, so no machine file needs editing.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from atelier.core.errors import ContainerEngineError, ImageBuildError
from atelier.core.settings import load_settings

__all__ = [
    "ENGINES",
    "Engine",
    "containers_conf",
    "find_engine",
]

#: the engines tried in turn
ENGINES = ("podman", "docker")
_PROBE_TIMEOUT = 30
_NPROC = 32768  # 65536 and above are refused by some sandboxes ("error setting rlimit")
_NOFILE_CAP = 65536
_found: dict[tuple[str, str], Engine] = {}


def containers_conf(home: Path | None = None) -> Path:
    """The project's containers.conf (written when missing or out of date): the runc
    runtime, and nofile/nproc ulimits within this process's hard limits."""
    folder = (home or load_settings().home).expanduser().resolve() / "containers"
    hard_nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = _NOFILE_CAP if hard_nofile == resource.RLIM_INFINITY else min(hard_nofile, _NOFILE_CAP)
    hard_nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = _NPROC if hard_nproc == resource.RLIM_INFINITY else min(hard_nproc, _NPROC)
    text = (
        "# Written by Atelier (atelier.containers): podman reads it through CONTAINERS_CONF.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
    )
    path = folder / "containers.conf"
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".containers.conf.{os.getpid()}")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)
    return path


@dataclass(frozen=True)
class Engine:
    """A working container engine: its executable and the environment to run it with."""

    path: str
    name: str
    conf: str | None = None

    # --- running the engine ----------------------------------------------------------
    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment for the engine's commands (``CONTAINERS_CONF`` for podman)."""
        env = dict(os.environ)
        if self.conf is not None and "CONTAINERS_CONF" not in os.environ:
            env["CONTAINERS_CONF"] = self.conf
        return {**env, **(extra or {})}

    def call(self, args: Sequence[str], **options: Any) -> subprocess.CompletedProcess[str]:
        """Run ``<engine> args`` (``options`` as for :meth:`try_call`);
        ``ContainerEngineError`` with its last output lines when it fails."""
        done = self.try_call(args, **options)
        if done.returncode != 0:
            said = (done.stderr.strip() or done.stdout.strip())[-2000:]
            raise ContainerEngineError(
                f"'{self.name} {' '.join(args[:2])}' exited with code {done.returncode}: {said}"
            )
        return done

    def try_call(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = 120,
        env: dict[str, str] | None = None,
        stdin: IO[bytes] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``<engine> args`` and return what happened, failed or not."""
        try:
            return subprocess.run(
                [self.path, *args],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env=self.env(env),
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise ContainerEngineError(
                f"'{self.name} {' '.join(args[:2])}' did not finish within {timeout:g} s"
            ) from exc
        except OSError as exc:
            raise ContainerEngineError(f"could not start {self.path}: {exc}") from exc

    # --- images -------------------------------------------------------------------------
    def build(
        self, context: Path, tags: Sequence[str], log: IO[str], *, timeout: float = 600
    ) -> str:
        """Build ``context`` (its ``Dockerfile``) tagged with ``tags``; return the image id.
        Every output line goes to ``log``; ``ImageBuildError`` when the build fails."""
        iidfile = context.parent / f".{context.name}.iid"
        command = [self.path, "build", "--iidfile", str(iidfile)]
        if self.name == "podman":
            command += ["--layers", "--network", "none"]
        for tag in tags:
            command += ["-t", tag]
        command.append(str(context))
        log.write("[atelier] $ " + " ".join(command) + "\n")
        log.flush()
        try:
            with subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
                text=True,
                errors="replace",
            ) as process:
                assert process.stdout is not None
                for line in process.stdout:  # any IO (a file, a StringIO, a tee) takes it
                    log.write(line)
                code = process.wait(timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ImageBuildError(f"'{self.name} build' could not run: {exc}") from exc
        log.flush()
        if code != 0:
            iidfile.unlink(missing_ok=True)
            raise ImageBuildError(f"'{self.name} build' exited with code {code}")
        image_id = iidfile.read_text(encoding="utf-8").strip()
        iidfile.unlink(missing_ok=True)
        return image_id.removeprefix("sha256:")

    def image_id(self, reference: str) -> str | None:
        """The id of the local image ``reference``, or None when there is none."""
        done = self.try_call(["image", "inspect", "--format", "{{.Id}}", reference])
        return done.stdout.strip().removeprefix("sha256:") or None if done.returncode == 0 else None

    def image_exists(self, reference: str) -> bool:
        return self.image_id(reference) is not None

    def tag(self, reference: str, *new: str) -> None:
        self.call(["tag", reference, *new])

    def remove_image(self, reference: str) -> bool:
        """Untag/remove ``reference``; False when it was not there."""
        return self.try_call(["rmi", reference]).returncode == 0

    def save_image(self, reference: str, archive: Path) -> None:
        """Write ``reference`` as an OCI archive (docker: a docker archive) to ``archive``."""
        fmt = ["--format", "oci-archive"] if self.name == "podman" else []
        self.call(["save", *fmt, "-o", str(archive), reference], timeout=1800)

    def push(self, reference: str, destination: str, *, tls_verify: bool = True) -> None:
        """Push ``reference`` to ``destination`` (``host:port/name:tag``)."""
        if self.name == "podman":
            flag = [] if tls_verify else ["--tls-verify=false"]
            self.call(["push", *flag, reference, f"docker://{destination}"], timeout=1800)
        else:
            self.tag(reference, destination)
            self.call(["push", destination], timeout=1800)

    def pull(self, reference: str, *, tls_verify: bool = True) -> None:
        flag = [] if tls_verify or self.name != "podman" else ["--tls-verify=false"]
        self.call(["pull", *flag, reference], timeout=1800)

    # --- containers ---------------------------------------------------------------------
    def run(
        self,
        image: str,
        *,
        name: str,
        command: Sequence[str] = (),
        ports: dict[int, int] | None = None,
        cpus: float | None = None,
        memory_mb: int | None = None,
        env: dict[str, str] | None = None,
        volumes: Sequence[tuple[str, str, bool]] = (),
        network: str | None = None,
        labels: dict[str, str] | None = None,
        host_ip: str = "127.0.0.1",
    ) -> str:
        """Start a detached container; return its id. ``ports`` maps host to container
        ports (published on ``host_ip``); ``env`` values travel in the engine's environment,
        never on its command line; ``volumes`` are (host path, container path, read-only)."""
        args = ["run", "--detach", "--name", name]
        for host_port, container_port in (ports or {}).items():
            args += ["--publish", f"{host_ip}:{host_port}:{container_port}"]
        if cpus is not None:
            args += ["--cpus", f"{cpus:g}"]
        if memory_mb is not None:
            args += ["--memory", f"{memory_mb}m"]
        for key in env or {}:
            args += ["--env", key]
        for host_path, container_path, read_only in volumes:
            args += ["--volume", f"{host_path}:{container_path}{':ro' if read_only else ''}"]
        if network is not None:
            args += ["--network", network]
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        done = self.call([*args, image, *command], env=env)
        return done.stdout.strip().splitlines()[-1]

    def inspect(self, container: str) -> dict[str, Any] | None:
        """The engine's description of ``container``, or None when there is none."""
        done = self.try_call(["container", "inspect", container])
        if done.returncode != 0:
            return None
        found = json.loads(done.stdout or "[]")
        return found[0] if found else None

    def is_running(self, container: str) -> bool:
        found = self.inspect(container)
        return bool(found and (found.get("State") or {}).get("Running"))

    def logs(self, container: str, tail: int | None = None) -> str:
        """The container's output (stdout then stderr), its last ``tail`` lines."""
        args = ["logs", *(["--tail", str(tail)] if tail is not None else []), container]
        done = self.try_call(args)
        return done.stdout + done.stderr

    def stop(self, container: str, timeout: int = 10) -> None:
        self.try_call(["stop", "--time", str(timeout), container], timeout=timeout + 60)

    def remove(self, container: str) -> None:
        """Remove ``container``, stopping it first; nothing when it is not there."""
        with contextlib.suppress(ContainerEngineError):
            self.try_call(["rm", "--force", "--time", "2", container])

    def remove_labelled(self, label: str) -> None:
        """Remove every container carrying ``label`` (``key=value``), running or not."""
        found = self.try_call(["ps", "--all", "--quiet", "--filter", f"label={label}"])
        for container in found.stdout.split():
            self.remove(container)


def find_engine(engines: Sequence[str] = ENGINES) -> Engine:
    """The first of ``engines`` that is installed on PATH and works here (cached per PATH).

    Raises ``ContainerEngineError`` saying, for each command tried, whether it is missing or
    why it failed, and how to install one."""
    path_variable = os.environ.get("PATH", "")
    problems: list[str] = []
    for name in engines:
        cached = _found.get((name, path_variable))
        if cached is not None:
            return cached
        path = shutil.which(name)
        if path is None:
            problems.append(f"'{name}': not found on PATH")
            continue
        engine = Engine(path, name, str(containers_conf()) if name == "podman" else None)
        works, why = _works(engine)
        if works:
            _found[(name, path_variable)] = engine
            return engine
        problems.append(f"'{name} info' failed ({why})")
    raise ContainerEngineError(
        "no working container engine: tried " + "; ".join(problems) + ". Install Podman "
        "('apt-get install podman runc uidmap' on Debian or Ubuntu; it needs no daemon) or "
        "Docker Engine with its daemon running (https://docs.docker.com/engine/install/)"
    )


def _works(engine: Engine) -> tuple[bool, str]:
    try:
        done = engine.try_call(["info"], timeout=_PROBE_TIMEOUT)
    except ContainerEngineError as exc:
        return False, exc.message
    said = (done.stderr.strip() or done.stdout.strip()).splitlines()
    return done.returncode == 0, (said[-1] if said else f"exit code {done.returncode}")
