"""Attaching an SSH compute target: check that the machine answers, that the login works
without a prompt and that it has a Python with Atelier importable (``python3``/``python``
on the remote ``PATH``, or the ``python`` setting); record that interpreter and a work
folder there (``~/.atelier-remote`` or the ``work_root`` setting, made absolute).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from atelier.core.errors import ComputeTargetException
from atelier.core.settings import load_settings
from atelier.execution.ssh_target import CONNECT_TIMEOUT_SECONDS, SshTarget, last_line

DEFAULT_WORK_ROOT = "~/.atelier-remote"

#: run on the machine by ``provision``: is Atelier importable, where is the work folder
_PROBE = """
import json, os, platform, shutil, sys
try:
    import atelier
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    raise SystemExit(0)
root = os.path.abspath(os.path.expanduser(sys.argv[1]))
os.makedirs(os.path.join(root, "runs"), exist_ok=True)
print(json.dumps({
    "python": sys.executable,
    "python_version": platform.python_version(),
    "atelier_version": getattr(atelier, "__version__", "unknown"),
    "work_root": root,
    "tar": shutil.which("tar") is not None,
}))
"""


def provision(settings: dict[str, Any], workspace: str, name: str) -> dict[str, Any]:
    """Check the machine in ``settings`` (``address``, ``ssh_port``, ``username``,
    ``private_key_file``; optional ``python`` and ``work_root``) and return the target's
    config, with the remote ``python`` and absolute ``work_root`` found there."""
    del workspace, name
    key = settings.get("private_key_file")
    if key:
        key_path = Path(str(key)).expanduser().resolve()
        if not key_path.is_file():
            raise ComputeTargetException(
                f"private_key_file {key!r} does not exist on this machine: give the path of "
                "the private key whose public key is authorized on the remote machine"
            )
        key = str(key_path)
    elif settings.get("password"):
        raise ComputeTargetException(
            "password logins are not supported (runs use ssh without prompts): give "
            "private_key_file, the private key whose public key is in the machine's "
            "~/.ssh/authorized_keys"
        )
    home = load_settings().home.expanduser().resolve()
    config: dict[str, Any] = {
        "address": str(settings.get("address") or "").strip(),
        "ssh_port": int(settings.get("ssh_port") or 22),
        "username": str(settings.get("username") or ""),
        "private_key_file": key or None,
    }
    target = SshTarget.from_config(config, home)
    target.run("true", "connecting", timeout=CONNECT_TIMEOUT_SECONDS + 20)
    work_root = str(settings.get("work_root") or DEFAULT_WORK_ROOT)
    found = _find_python(target, settings.get("python"), work_root)
    return {
        **config,
        **found,
        "max_concurrent_runs": int(settings.get("max_concurrent_runs") or 1),
    }


def _shell_word(path: str) -> str:
    """``path`` quoted for ``sh``, with a leading ``~/`` still meaning the remote home."""
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def _find_python(target: SshTarget, configured: Any, work_root: str) -> dict[str, Any]:
    """The first remote Python that imports Atelier: the configured one, else ``python3``
    or ``python`` on the remote ``PATH``."""
    candidates = [str(configured)] if configured else ["python3", "python"]
    reasons = []
    for python in candidates:
        script = f"{_shell_word(python)} -c {shlex.quote(_PROBE)} {shlex.quote(work_root)}"
        try:
            output = target.run(script, f"looking for {python} with Atelier")
        except ComputeTargetException as exc:
            reasons.append(f"{python}: {exc.message}")
            continue
        try:
            found: dict[str, Any] = json.loads(last_line(output))
        except json.JSONDecodeError:
            reasons.append(f"{python}: unexpected output {last_line(output)!r}")
            continue
        if "error" in found:
            reasons.append(f"{python}: {found['error']}")
            continue
        if not found.pop("tar", False):
            raise ComputeTargetException(
                f"{target.label} has no `tar`, which copies the runs' files: install it there"
            )
        return found
    raise ComputeTargetException(
        f"{target.label} has no Python with Atelier ({'; '.join(reasons)}): install it there "
        "(`python3 -m pip install atelier-ml`, the same version as here) or give the path of "
        "a Python that has it"
    )
