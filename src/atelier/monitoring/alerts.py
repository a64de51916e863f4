"""Drift alerts: azureml's ``AlertConfiguration`` and what sends them.

An alert goes out when a window's drift magnitude reaches the detector's threshold: an
email to every address (through the SMTP server the workspace names, see
:func:`smtp_server`) and, when configured, a JSON POST to a webhook. Whether a window was
already alerted is recorded on its run (see ``detector``), so a window alerts once, also
after a restart or a second backfill.
"""

from __future__ import annotations

import os
import re
import smtplib
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from atelier.core.errors import ValidationError
from atelier.core.tls_context import ssl_context

if TYPE_CHECKING:
    from atelier.sdk.workspace import Workspace

_ADDRESS = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+")
#: workspace tags (or, failing them, ATELIER_SMTP_HOST / _PORT / _SENDER) naming the server
SMTP_TAGS = ("smtp_host", "smtp_port", "smtp_sender")
SMTP_TIMEOUT_SECONDS = 10.0


class AlertConfiguration:
    """Who hears about drift: ``email_addresses`` (azureml's argument) and, as an Atelier
    addition, a ``webhook_url`` that receives the window's summary as JSON."""

    def __init__(
        self, email_addresses: Iterable[str] | None = None, *, webhook_url: str | None = None
    ) -> None:
        if isinstance(email_addresses, str):
            email_addresses = [email_addresses]
        addresses = list(email_addresses or [])
        for address in addresses:
            if not isinstance(address, str) or not _ADDRESS.fullmatch(address):
                raise ValidationError(f"{address!r} is not an email address")
        if webhook_url is not None and (
            not isinstance(webhook_url, str) or not webhook_url.startswith(("http://", "https://"))
        ):
            raise ValidationError(f"webhook_url must be an http(s) URL, not {webhook_url!r}")
        self.email_addresses = addresses
        self.webhook_url = webhook_url

    def _to_dict(self) -> dict[str, Any]:
        return {"email_addresses": list(self.email_addresses), "webhook_url": self.webhook_url}

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any] | None) -> AlertConfiguration | None:
        if not data:
            return None
        return cls(data.get("email_addresses") or [], webhook_url=data.get("webhook_url"))

    def __repr__(self) -> str:
        return f"AlertConfiguration(email_addresses={self.email_addresses!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AlertConfiguration) and self._to_dict() == other._to_dict()

    __hash__ = None  # type: ignore[assignment]


def smtp_server(workspace: Workspace) -> tuple[str, int, str] | None:
    """(host, port, sender) from the workspace's ``smtp_host`` / ``smtp_port`` /
    ``smtp_sender`` tags, else ``ATELIER_SMTP_HOST`` / ``_PORT`` / ``_SENDER``; None when
    no host is set."""
    tags = workspace.tags
    host = tags.get("smtp_host") or os.environ.get("ATELIER_SMTP_HOST")
    if not host:
        return None
    port_text = tags.get("smtp_port") or os.environ.get("ATELIER_SMTP_PORT") or "25"
    try:
        port = int(port_text)
    except ValueError:
        raise ValidationError(f"smtp_port {port_text!r} is not a port number") from None
    sender = tags.get("smtp_sender") or os.environ.get("ATELIER_SMTP_SENDER") or "atelier@localhost"
    return host, port, sender


def summary(detector: str, window: Mapping[str, Any]) -> dict[str, Any]:
    """What an alert says: the detector, the window, the magnitude, the drifted features."""
    features = window.get("features") or {}
    top = sorted(
        ((name, metric.get("contribution") or 0.0) for name, metric in features.items()),
        key=lambda item: -item[1],
    )[:5]
    return {
        "detector": detector,
        "start_date": window.get("start_date"),
        "end_date": window.get("end_date"),
        "drift_magnitude": window.get("drift_magnitude"),
        "drift_threshold": window.get("drift_threshold"),
        "drifted_features": window.get("drifted_features") or [],
        "top_contributions": dict(top),
        "target_rows": window.get("target_rows"),
    }


def send(workspace: Workspace, config: AlertConfiguration, message: Mapping[str, Any]) -> list[str]:
    """Send the alert every way ``config`` names; what went out (``email:addr``,
    ``webhook``) — a channel that fails raises ``ValidationError`` naming it, after the
    others were tried."""
    sent: list[str] = []
    failures: list[str] = []
    if config.email_addresses:
        server = smtp_server(workspace)
        if server is None:
            failures.append(
                "no SMTP server: tag the workspace with smtp_host (and smtp_port) or set "
                "ATELIER_SMTP_HOST"
            )
        else:
            try:
                _email(server, config.email_addresses, message)
                sent.extend(f"email:{address}" for address in config.email_addresses)
            except (OSError, smtplib.SMTPException) as exc:
                failures.append(f"email through {server[0]}:{server[1]} failed: {exc}")
    if config.webhook_url:
        try:
            _webhook(config.webhook_url, message)
            sent.append("webhook")
        except Exception as exc:  # httpx's errors, a refused connection: reported, not raised
            failures.append(f"webhook {config.webhook_url} failed: {exc}")
    if failures:
        raise ValidationError("; ".join(failures))
    return sent


def _email(server: tuple[str, int, str], to: list[str], message: Mapping[str, Any]) -> None:
    host, port, sender = server
    email = EmailMessage()
    magnitude = message.get("drift_magnitude") or 0.0
    threshold = 100 * (message.get("drift_threshold") or 0.0)
    email["Subject"] = (
        f"[Atelier] data drift {magnitude:.1f}% in {message['detector']} "
        f"({message['start_date']} - {message['end_date']})"
    )
    email["From"] = sender
    email["To"] = ", ".join(to)
    lines = [
        f"Detector: {message['detector']}",
        f"Window: {message['start_date']} to {message['end_date']}",
        f"Drift magnitude: {magnitude:.2f} (threshold {threshold:.0f})",
        f"Drifted features: {', '.join(message['drifted_features']) or 'none'}",
        "Top contributions:",
        *(f"  {name}: {share:.3f}" for name, share in message["top_contributions"].items()),
    ]
    email.set_content("\n".join(lines) + "\n")
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS) as client:
        client.send_message(email)


def _webhook(url: str, message: Mapping[str, Any]) -> None:
    import httpx

    httpx.post(
        url, json=dict(message), timeout=SMTP_TIMEOUT_SECONDS, verify=ssl_context()
    ).raise_for_status()
