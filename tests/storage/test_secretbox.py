"""The secret key: where it comes from, how its file is made and guarded, what a wrong
key does."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from atelier import AtelierError
from atelier.core.errors import SecretKeyError
from atelier.core.settings import Secret, Settings
from atelier.storage.secretbox import (
    KEY_FILE_NAME,
    SecretBox,
    decode_key,
    load_secret_box,
    new_key_text,
)


def _settings(home: Path, key: str | None = None) -> Settings:
    return Settings(home=home, secret_key=Secret(key) if key is not None else None)


def test_a_key_file_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    home = tmp_path / "home"
    box = load_secret_box(_settings(home))
    path = home / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in home.iterdir()] == [KEY_FILE_NAME]  # no staging file left
    again = load_secret_box(_settings(home))
    assert again.key_id == box.key_id
    sealed = box.seal(b"hunter2", b"ctx")
    assert b"hunter2" not in sealed
    assert again.open(sealed, b"ctx", box.key_id, "secret 'x'") == b"hunter2"


def test_processes_racing_to_create_the_key_all_get_the_same_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: load_secret_box(_settings(home)).key_id, range(16)))
    assert len(ids) == 1
    assert sorted(p.name for p in home.iterdir()) == [KEY_FILE_NAME]


def test_the_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    key = new_key_text()
    box = load_secret_box(_settings(tmp_path, key))
    assert box.key_id == SecretBox(decode_key(key, "test"), "test").key_id
    assert box.source == "ATELIER_SECRET_KEY"
    assert not (tmp_path / KEY_FILE_NAME).exists()
    assert key not in repr(box)
    assert key not in repr(_settings(tmp_path, key))


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_key_file_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    load_secret_box(_settings(tmp_path))
    path = tmp_path / KEY_FILE_NAME
    path.chmod(mode)
    with pytest.raises(SecretKeyError, match=rf"mode {mode:04o}.*chmod 600 {path}"):
        load_secret_box(_settings(tmp_path))
    path.chmod(0o600)
    load_secret_box(_settings(tmp_path))


def test_a_linked_or_damaged_key_file_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.key"
    real.write_text(new_key_text())
    real.chmod(0o600)
    home = tmp_path / "home"
    home.mkdir()
    (home / KEY_FILE_NAME).symlink_to(real)
    with pytest.raises(SecretKeyError, match="regular file"):
        load_secret_box(_settings(home))
    (home / KEY_FILE_NAME).unlink()
    damaged = home / KEY_FILE_NAME
    damaged.write_text("not a key at all")
    damaged.chmod(0o600)
    with pytest.raises(SecretKeyError, match="must be 32 bytes"):
        load_secret_box(_settings(home))


@pytest.mark.parametrize(
    "text",
    ["", "short", "é" * 44, new_key_text()[:-4]],
    ids=["empty", "short", "not-base64", "truncated"],
)
def test_a_malformed_environment_key_says_how_to_make_one(tmp_path: Path, text: str) -> None:
    with pytest.raises(SecretKeyError, match="urandom"):
        load_secret_box(_settings(tmp_path, text))


def test_a_wrong_key_or_moved_value_is_a_typed_error(tmp_path: Path) -> None:
    first = load_secret_box(_settings(tmp_path, new_key_text()))
    second = load_secret_box(_settings(tmp_path, new_key_text()))
    sealed = first.seal(b"value", b"ws1/name")
    with pytest.raises(SecretKeyError, match="ATELIER_SECRET_KEY") as caught:
        second.open(sealed, b"ws1/name", first.key_id, "secret 'name'")
    assert first.key_id in caught.value.message
    assert isinstance(caught.value, AtelierError)
    with pytest.raises(SecretKeyError, match="damaged or was moved"):
        first.open(sealed, b"ws2/name", first.key_id, "secret 'name'")
    with pytest.raises(SecretKeyError, match="damaged"):
        first.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), b"ws1/name", first.key_id, "s")
    with pytest.raises(SecretKeyError, match="damaged"):
        first.open(b"", b"ws1/name", first.key_id, "s")


def test_an_unwritable_home_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    try:
        with pytest.raises(SecretKeyError, match="ATELIER_SECRET_KEY"):
            load_secret_box(_settings(home))
    finally:
        home.chmod(0o700)
