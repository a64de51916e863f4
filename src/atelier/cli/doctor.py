"""``atelier doctor``: what works here and what to fix, one line per check.

Checks the home (a writable folder, its database and key file), the optional extras, the
server ``atelier login`` points at, and a container engine. Exits 1 when a check failed.
"""

from __future__ import annotations

import stat
from typing import Any

import typer

from atelier.cli._output import OutputFormat, OutputOption, print_json, print_table
from atelier.core.errors import AtelierError
from atelier.core.extras import EXTRAS, missing_modules
from atelier.core.settings import Settings, load_settings
from atelier.core.tls_context import ssl_context

OK, WARN, FAIL, OFF = "ok", "warn", "FAIL", "-"
KEY_FILE = "secret.key"


def _check_home(settings: Settings) -> list[tuple[str, str, str]]:
    from atelier.client.embedded.home import check_home

    home = settings.home.expanduser()
    if not home.exists():
        return [("home", OK, f"{home} does not exist yet: the first command creates it")]
    try:
        check_home(settings)
    except AtelierError as exc:
        return [("home", FAIL, exc.message)]
    found = [("home", OK, str(home))]
    try:
        from atelier.client.registry import embedded_backend

        count = len(embedded_backend(settings).workspaces.list())
        found.append(("database", OK, f"{settings.resolved_database_url} ({count} workspaces)"))
    except AtelierError as exc:
        found.append(("database", FAIL, exc.message))
    return found


def _check_key(settings: Settings) -> tuple[str, str, str]:
    if settings.secret_key is not None:
        return ("secret key", OK, "from ATELIER_SECRET_KEY")
    path = settings.home.expanduser() / KEY_FILE
    if not path.exists():
        return ("secret key", OK, f"{path} is created (mode 0600) with the first secret")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        return ("secret key", FAIL, f"{path} is readable by others (mode {mode:o}): chmod 600")
    return ("secret key", OK, str(path))


def _check_extras() -> list[tuple[str, str, str]]:
    found = []
    for extra, (_, enables) in EXTRAS.items():
        missing = missing_modules(extra)
        if missing:
            found.append((f"extra {extra}", OFF, f"{enables}: pip install 'atelier-ml[{extra}]'"))
        else:
            found.append((f"extra {extra}", OK, enables))
    return found


def _check_server(settings: Settings) -> tuple[str, str, str]:
    from atelier.client.http.transport import read_credentials

    try:
        credentials = read_credentials(settings.home)
    except AtelierError as exc:
        return ("server", FAIL, exc.message)
    if credentials is None:
        return ("server", OFF, "not logged in: the SDK and CLI use this home (embedded)")
    import httpx

    url = credentials["url"]
    try:
        response = httpx.get(f"{url}/healthz", timeout=5, verify=ssl_context())
    except httpx.HTTPError as exc:
        return ("server", FAIL, f"{url} cannot be reached ({exc}); start it or log in again")
    if response.status_code != 200:
        return ("server", FAIL, f"{url}/healthz answered {response.status_code}")
    return ("server", OK, url)


def _check_engine() -> tuple[str, str, str]:
    """A working podman or docker (its ``info`` answers), and whether the Python base image
    of model images is made yet."""
    from atelier.containers import BASE_IMAGE, find_engine
    from atelier.core.errors import AtelierError

    try:
        engine = find_engine()
    except AtelierError as exc:
        return ("container engine", WARN, f"image builds and container endpoints need one: "
                f"{exc.message}")  # fmt: skip
    if not engine.image_exists(BASE_IMAGE):
        return ("container engine", OK, f"{engine.name}; the base image {BASE_IMAGE} is made "
                "by the first Model.package (a few minutes)")  # fmt: skip
    return ("container engine", OK, f"{engine.name}, base image {BASE_IMAGE}")


def doctor(output: OutputOption = OutputFormat.TABLE) -> None:
    """Check the home (folder, database, key file), the extras installed, the server you
    are logged in to and the container engine, and print what to fix (exit 1 on a FAIL)."""
    settings = load_settings()
    checks: list[tuple[str, str, str]] = [*_check_home(settings), _check_key(settings)]
    checks += [*_check_extras(), _check_server(settings), _check_engine()]
    if output is OutputFormat.JSON:
        rows: list[dict[str, Any]] = [{"check": c, "status": s, "detail": d} for c, s, d in checks]
        print_json(rows)
    else:
        print_table(
            "Atelier doctor",
            ("check", "status", "detail"),
            checks,
            no_wrap=("check", "status"),
        )
    if any(status == FAIL for _, status, _ in checks):
        raise typer.Exit(1)
