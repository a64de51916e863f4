"""The one key that encrypts what must not be stored in the clear (secrets, credentials).

``load_secret_box(settings)`` returns a :class:`SecretBox` holding a 256-bit AES-GCM key
taken from ``ATELIER_SECRET_KEY`` (urlsafe base64 of 32 bytes) or else from the key file
``<ATELIER_HOME>/secret.key``, which is generated on first use with mode 0600. A key file
that other users can read, or that belongs to another user, is refused.

``box.seal(plaintext, context)`` returns bytes to store; ``box.open(sealed, context,
key_id, what)`` gives the plaintext back or raises :class:`SecretKeyError` when the key
is not the one the value was sealed with. ``context`` binds a value to where it is kept
(e.g. workspace id and secret name), so a stored value copied to another row will not
open. Store ``box.key_id`` beside each sealed value: it names the key without revealing it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import stat
import uuid
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from atelier.core.errors import SecretKeyError
from atelier.core.settings import Settings

KEY_FILE_NAME = "secret.key"
KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = b"\x01"  # first byte of every sealed value: AES-256-GCM, 12-byte nonce
_KEYGEN_HINT = (
    'python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"'
)


class SecretBox:
    """Seals and opens values with one AES-256-GCM key; ``source`` says where the key came
    from (for messages), ``key_id`` names it (a digest, safe to store and show)."""

    __slots__ = ("_aead", "key_id", "source")

    def __init__(self, key: bytes, source: str) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(
                f"the secret key from {source} is {len(key)} bytes; it must be {KEY_BYTES} "
                f"bytes as urlsafe base64 (make one with: {_KEYGEN_HINT})"
            )
        self._aead = AESGCM(key)
        self.source = source
        self.key_id = hashlib.sha256(b"atelier-secret-key-id\x00" + key).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"SecretBox(key_id={self.key_id!r}, source={self.source!r})"

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _FORMAT + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes, key_id: str, what: str) -> bytes:
        """The plaintext of ``sealed``; ``SecretKeyError`` naming ``what`` if it will not open."""
        if key_id != self.key_id:
            raise SecretKeyError(
                f"{what} was encrypted with secret key {key_id}, but the key in use "
                f"(from {self.source}) is {self.key_id}; set ATELIER_SECRET_KEY to the key it "
                "was stored with (or restore that key file), or set the secret again"
            )
        damaged = SecretKeyError(
            f"{what} does not decrypt with secret key {self.key_id} (from {self.source}): "
            "the stored value is damaged or was moved; set the secret again"
        )
        if sealed[:1] != _FORMAT:
            raise damaged
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], context)
        except InvalidTag:
            raise damaged from None


def decode_key(text: str, source: str) -> bytes:
    """The key bytes of urlsafe base64 ``text``; ``SecretKeyError`` saying how to fix it."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SecretKeyError(
            f"the secret key from {source} is not urlsafe base64; make one with: {_KEYGEN_HINT}"
        ) from None
    if len(key) != KEY_BYTES:
        raise SecretKeyError(
            f"the secret key from {source} is {len(key)} bytes; it must be {KEY_BYTES} bytes "
            f"(make one with: {_KEYGEN_HINT})"
        )
    return key


def new_key_text() -> str:
    """A fresh random key as urlsafe base64 (the form ``ATELIER_SECRET_KEY`` takes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_file_path(settings: Settings) -> Path:
    return settings.home.expanduser().resolve() / KEY_FILE_NAME


def read_key_file(path: Path) -> bytes:
    """The key in ``path``, refusing a file that another user owns or may read."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise SecretKeyError(
            f"cannot open the secret key file {path} ({exc.strerror}); it must be a regular "
            "file you own, or set ATELIER_SECRET_KEY instead"
        ) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SecretKeyError(f"the secret key file {path} is not a regular file; remove it")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise SecretKeyError(
                f"the secret key file {path} belongs to another user (uid {info.st_uid}); "
                "use your own ATELIER_HOME or set ATELIER_SECRET_KEY"
            )
        if info.st_mode & 0o077:
            raise SecretKeyError(
                f"the secret key file {path} has mode {stat.S_IMODE(info.st_mode):04o} and can "
                f"be read by other users; run 'chmod 600 {path}' (and consider the secrets it "
                "protects exposed if others could read it)"
            )
        data = handle.read(4096)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        text = "!"
    return decode_key(text, f"key file {path}")


def _create_key_file(path: Path) -> None:
    """Write a new key beside ``path`` with mode 0600, then link it into place, so readers
    see either no file or a whole one and two processes racing keep the same key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = path.with_name(f".{KEY_FILE_NAME}.{uuid.uuid4().hex}")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write((new_key_text() + "\n").encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
        # when another process made the key first, everyone uses that one
        with contextlib.suppress(FileExistsError):
            os.link(staging, path)
    finally:
        staging.unlink(missing_ok=True)


def load_secret_box(settings: Settings) -> SecretBox:
    """The box for these settings: ``ATELIER_SECRET_KEY`` when set, else the key file
    (generated on first use). ``SecretKeyError`` when the key is malformed or unsafe."""
    if settings.secret_key is not None:
        source = "ATELIER_SECRET_KEY"
        return SecretBox(decode_key(settings.secret_key.get_secret_value(), source), source)
    path = key_file_path(settings)
    try:
        key = read_key_file(path)
    except FileNotFoundError:
        try:
            _create_key_file(path)
        except OSError as exc:
            raise SecretKeyError(
                f"cannot create the secret key file {path} ({exc.strerror or exc}); make "
                "ATELIER_HOME writable or set ATELIER_SECRET_KEY"
            ) from None
        key = read_key_file(path)
    return SecretBox(key, f"key file {path}")
