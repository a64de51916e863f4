"""A large CSV read a piece at a time: pieces cut anywhere read as the whole file does
(quotes in some pieces only, a line longer than a piece, no line end at the end), and a
file cut short by another process while it is read gives a typed error and no entry."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from atelier.core.errors import ConflictError
from atelier.sdk.data import _csv_pieces, _tabular_cache, _tabular_entry
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.tabular_dataset import TabularDataset


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", 64)


def _dataset(path: Path) -> TabularDataset:
    return Dataset.Tabular.from_delimited_files(str(path), validate=False)


def _leftovers(home: Path) -> list[str]:
    _tabular_cache.wait_for_writes()
    root = home / "cache" / "tabular"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_pieces_read_as_the_whole_file_does(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed_pieces: list[int]
) -> None:
    """Quoted values (with the separator inside) only in a late piece, a line longer than
    two pieces, and no line end after the last line: the first read for pandas and for
    Arrow and the cached read equal an uncached one-pass read."""
    lines = ["id,name,score"] + [f"{i},n{i},{i / 8}" for i in range(120)]
    lines[60] = f"59,{'x' * 200},7.5"  # longer than the buffer: it grows
    lines[100] = '99,"quoted, with a comma",1.25'
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines))  # no line end at the end
    first = _dataset(path).to_pandas_dataframe()
    assert len(parsed_pieces) > 10 and sum(parsed_pieces) == 120
    cached = _dataset(path).to_pandas_dataframe()
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    whole = _dataset(path).to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, whole, check_exact=True)
    pd.testing.assert_frame_equal(cached, whole, check_exact=True)
    assert whole["name"][99] == "quoted, with a comma" and whole["name"][59] == "x" * 200
    assert whole["score"].tolist()[-1] == 119 / 8
    monkeypatch.delenv(_tabular_cache.CACHE_ENV)
    arrow_home = tmp_path / "arrow-home"
    monkeypatch.setenv("ATELIER_HOME", str(arrow_home))
    parsed_pieces.clear()
    table = _dataset(path).to_arrow()  # parsed in pieces, every piece kept
    assert len(parsed_pieces) > 10
    monkeypatch.setenv(_tabular_cache.CACHE_ENV, "0")
    assert table.equals(_dataset(path).to_arrow())
    assert table.column("name").to_pylist() == whole["name"].tolist()


@pytest.mark.parametrize("method", ["to_pandas_dataframe", "to_arrow"])
def test_a_csv_cut_short_while_it_is_read_is_an_error_and_leaves_no_entry(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Another process truncates the file after the first pieces are parsed: the read
    raises ConflictError naming the file (a memory-mapped input would have killed the
    process with SIGBUS), no entry or temporary folder is left, and once the file is
    stable it reads and caches as usual."""
    lines = ["id,score"] + [f"{i},{i / 2}" for i in range(300)]
    path = tmp_path / "shrinking.csv"
    path.write_text("\n".join(lines) + "\n")
    real = _csv_pieces.csv_pieces

    def truncating(*args: Any, **kwargs: Any) -> Any:
        for number, piece in enumerate(real(*args, **kwargs)):
            if number == 2:
                os.truncate(path, 200)  # what another process may do at any time
            yield piece

    with monkeypatch.context() as patch:
        patch.setattr(_csv_pieces, "csv_pieces", truncating)
        with pytest.raises(ConflictError, match=r"shrinking\.csv changed while it was being"):
            getattr(_dataset(path), method)()
    assert _leftovers(cache_home) == []
    frame = _dataset(path).to_pandas_dataframe()
    assert frame["id"].tolist() == list(range(len(frame))) and len(frame) > 10
    assert len(_leftovers(cache_home)) == 1


def test_a_csv_rewritten_to_the_same_size_while_it_is_read_is_an_error(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["id,score"] + [f"{i},{i / 2}" for i in range(300)]
    path = tmp_path / "rewritten.csv"
    path.write_text("\n".join(lines) + "\n")
    writes: list[Any] = []
    real = _tabular_entry.PieceWriter.add

    def rewrite_after_the_first(self: Any, piece: Any) -> None:
        writes.append(piece.num_rows)
        if len(writes) == 1:
            text = path.read_bytes()
            path.write_bytes(text.replace(b"1", b"2"))  # same size, new time
        real(self, piece)

    monkeypatch.setattr(_tabular_entry.PieceWriter, "add", rewrite_after_the_first)
    with pytest.raises(ConflictError, match="read the dataset again"):
        _dataset(path).to_pandas_dataframe()
    assert _leftovers(cache_home) == []


class _ReadOnlyStream:
    """A datastore stream with ``read`` only (no ``readinto``)."""

    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, size: int) -> bytes:
        chunk = self._data[self._at : self._at + size]
        self._at += len(chunk)
        return chunk

    def __enter__(self) -> _ReadOnlyStream:
        return self

    def __exit__(self, *args: object) -> None:
        return None


def test_a_stream_without_readinto_is_read_in_pieces_too(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from atelier.client.data_files import ResolvedFile

    data = ("id,name\n" + "".join(f"{i},n{i}\n" for i in range(100))).encode()

    class Store:
        def open(self, location: str) -> _ReadOnlyStream:
            return _ReadOnlyStream(data)

    item = ResolvedFile("store:x.csv", "x.csv", len(data), 0, Store(), "x.csv")  # type: ignore[arg-type]
    options = {
        "read_options": pcsv.ReadOptions(),
        "parse_options": pcsv.ParseOptions(),
        "convert_options": pcsv.ConvertOptions(),
    }
    pieces = list(_csv_pieces.csv_pieces(item, options))
    assert len(pieces) > 5
    assert pa.concat_tables(pieces).equals(pcsv.read_csv(pa.BufferReader(data)))


def test_later_pieces_parse_side_by_side_and_stopping_early_stops_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first piece is parsed alone (it settles the types); later ones on the pool's
    threads, handed on in file order; a reader that stops after a few pieces leaves no
    parse running and has read only a few pieces ahead (memory stays bounded)."""
    import threading

    import pyarrow as pa
    import pyarrow.csv as pcsv

    from atelier.client.data_files import ResolvedFile

    path = tmp_path / "many.csv"
    path.write_text("id,half\n" + "".join(f"{i},{i / 2}\n" for i in range(2000)))
    item = ResolvedFile(str(path), "many.csv", path.stat().st_size, 0, None, str(path))
    options = {
        "read_options": pcsv.ReadOptions(),
        "parse_options": pcsv.ParseOptions(),
        "convert_options": pcsv.ConvertOptions(),
    }
    threads: list[str] = []
    real = pcsv.read_csv

    def watched(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(pcsv, "read_csv", watched)
    pieces = list(_csv_pieces.csv_pieces(item, options))
    assert len(pieces) > 100 and len(threads) == len(pieces)
    assert threads[0] == threading.current_thread().name
    assert all(name.startswith("atelier-csv") for name in threads[1:])
    whole = pa.concat_tables(pieces)
    assert whole.column("id").to_pylist() == list(range(2000))  # in file order
    assert whole.column("half").to_pylist()[-1] == 1999 / 2

    threads.clear()
    reader = _csv_pieces.csv_pieces(item, options)
    taken = [next(reader) for _ in range(5)]
    reader.close()
    assert [p.column("id")[0].as_py() for p in taken] == sorted(
        p.column("id")[0].as_py() for p in taken
    )
    assert len(threads) <= 5 + pa.cpu_count() + 1  # read ahead by at most the pool's width
    assert not [t for t in threading.enumerate() if t.name.startswith("atelier-csv")]
