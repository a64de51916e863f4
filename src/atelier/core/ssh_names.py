"""What an SSH compute target's address and username may be.

Both end up on the ``ssh`` command line. A value that starts with ``-`` would be read as an
option (``-oProxyCommand=...`` runs a local command), and shell or option syntax has no
place in a host or user name, so only plain names are accepted: the rule is checked where
a target is stored (services) and again where the command line is built (execution).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from atelier.core.errors import ValidationError

#: a DNS name or an IPv4 address: labels of letters, digits, '-' and '_', joined by dots
_HOST = re.compile(
    r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?"
)
#: a login name: POSIX portable characters, and '@' for domain logins (user@DOMAIN)
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")
_MAX_HOST = 253


def check_ssh_address(address: object) -> str:
    """The host name or IP address, stripped; ``ValidationError`` for anything else."""
    host = str(address if address is not None else "").strip()
    if _is_ip(host) or (len(host) <= _MAX_HOST and _HOST.fullmatch(host)):
        return host
    raise ValidationError(
        f"invalid SSH address {host[:100]!r}: give the machine's host name (letters, digits, "
        "'-', '_' and dots, not starting with '-') or its IP address"
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True


def check_ssh_username(username: object) -> str:
    """The login name ('' lets ``ssh`` choose); ``ValidationError`` for option or shell
    syntax."""
    user = str(username if username is not None else "")
    if user == "" or _USER.fullmatch(user):
        return user
    raise ValidationError(
        f"invalid SSH username {user[:100]!r}: use up to 64 letters, digits, '_', '.', '@' "
        "and '-', not starting with '-' or '.'"
    )


def check_ssh_port(port: object) -> int:
    """The TCP port (default 22); ``ValidationError`` unless a whole number 1-65535."""
    if port is None or port == "":
        return 22
    if isinstance(port, bool) or not isinstance(port, int | str):
        raise ValidationError(f"invalid ssh_port {port!r}: give a whole number from 1 to 65535")
    try:
        number = int(port)
    except ValueError:
        raise ValidationError(
            f"invalid ssh_port {str(port)[:20]!r}: give a whole number from 1 to 65535"
        ) from None
    if not 1 <= number <= 65535:
        raise ValidationError(f"invalid ssh_port {number}: give a whole number from 1 to 65535")
    return number


def check_ssh_settings(config: dict[str, Any]) -> None:
    """Refuse an SSH target's settings whose address, username or port is not plain."""
    check_ssh_address(config.get("address"))
    check_ssh_username(config.get("username"))
    check_ssh_port(config.get("ssh_port"))
