"""No module of ``atelier`` over 500 lines, computed from the code, not kept by hand.

A module that grows past the limit is the moment to split it by responsibility
(CONVENTIONS.md, "Split by resource from the start"). Database migrations are exempt:
each is a fixed record of one schema change, written once and never split.
"""

from __future__ import annotations

from pathlib import Path

import atelier

SOURCE_ROOT = Path(atelier.__file__).resolve().parent
MAX_LINES = 500
#: folders whose modules are exempt, relative to ``SOURCE_ROOT``
EXEMPT = ("store/migrations",)


def oversized(root: Path = SOURCE_ROOT, limit: int = MAX_LINES) -> dict[str, int]:
    """Every module below ``root`` longer than ``limit`` lines, outside the exempt
    folders: its path relative to ``root`` -> its line count."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if any(relative.startswith(f"{folder}/") for folder in EXEMPT):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found[relative] = lines
    return found


def test_no_module_is_over_the_limit() -> None:
    found = oversized()
    listed = "\n".join(f"  src/atelier/{name}: {lines} lines" for name, lines in found.items())
    assert not found, f"modules over {MAX_LINES} lines (split each by responsibility):\n{listed}"


def test_the_check_finds_a_long_module_and_skips_migrations(tmp_path: Path) -> None:
    long = "x = 1\n" * 501
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "big.py").write_text(long)
    (tmp_path / "pkg" / "fits.py").write_text("x = 1\n" * 500)
    (tmp_path / "store" / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "store" / "migrations" / "versions" / "0001_all.py").write_text(long)
    assert oversized(tmp_path) == {"pkg/big.py": 501}
