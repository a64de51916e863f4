"""Dates and timestamps in the columnar cache: stored as the bare values pandas takes over
(dates as milliseconds), yet every reader sees the same types and values as a read
without the cache, on a first read, a later read, and through the dataset's steps."""

from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from atelier.sdk.data import _csv_pieces, _tabular_cache, _tabular_read
from atelier.sdk.data.dataset import Dataset
from atelier.sdk.data.tabular_dataset import TabularDataset


def _dates_csv(path: Path, rows: int) -> None:
    """``day``: a date without nulls; ``gap``: a date with a null in a late row (bare
    values until then when read in pieces); ``sparse``: a date with a null in the first
    row; ``stamp``: a timestamp without nulls; ``at``: a timestamp with a null."""
    lines = ["id,day,gap,sparse,stamp,at"]
    for i in range(rows):
        day = f"20{10 + i % 20}-{i % 12 + 1:02d}-{i % 28 + 1:02d}"
        gap = "" if i == rows - 3 else f"19{50 + i % 50}-01-{i % 28 + 1:02d}"
        sparse = "" if i == 0 else day
        stamp = f"{day} {i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}"
        at = "" if i % 5 == 2 else stamp
        lines.append(f"{i},{day},{gap},{sparse},{stamp},{at}")
    path.write_text("\n".join(lines) + "\n")


def _dataset(path: Path) -> TabularDataset:
    return Dataset.Tabular.from_delimited_files(str(path), validate=False)


def _owner(values: Any) -> Any:
    while getattr(values, "base", None) is not None:
        values = values.base
    return values.obj if isinstance(values, memoryview) else values


def _entry(home: Path) -> Path:
    _tabular_cache.wait_for_writes()
    (entry,) = [p for p in (home / "cache" / "tabular").iterdir() if p.name[0] != "."]
    return entry


@pytest.mark.parametrize("piece_bytes", [256, 1 << 24], ids=["in-pieces", "whole"])
def test_dates_and_timestamps_read_alike_with_and_without_the_cache(
    cache_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parsed_pieces: list[int],
    piece_bytes: int,
) -> None:
    import pyarrow as pa

    monkeypatch.setattr(_csv_pieces, "PIECE_BYTES", piece_bytes)
    path = tmp_path / "dates.csv"
    _dates_csv(path, 120)
    ds = _dataset(path)
    with monkeypatch.context() as patch:
        patch.setenv(_tabular_cache.CACHE_ENV, "0")
        frame, table = ds.to_pandas_dataframe(), ds.to_arrow()
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("stamp").type == pa.timestamp("s")
    assert str(frame["day"].dtype) == "datetime64[ms]" and frame["gap"].isna().sum() == 1

    first = ds.to_pandas_dataframe()  # empty cache: parsed, the entry written, then mapped
    assert (len(parsed_pieces) > 10) == (piece_bytes == 256)
    meta = json.loads((_entry(cache_home) / "meta.json").read_text())
    assert meta["raw"] == [0, 1, 4]  # gap's late null: its dates went to an IPC file
    assert meta["stored"] == {"0": "int64", "1": "date64[ms]", "4": "timestamp[s]"}
    with monkeypatch.context() as patch:
        patch.setattr(_tabular_read, "read_files", None)  # later reads never parse
        later, later_table = ds.to_pandas_dataframe(), ds.to_arrow()
        kept = ds.keep_columns(["day", "gap"]).skip(2).to_pandas_dataframe()
        filtered = ds.filter("id >= 100").to_arrow()
        filtered_frame = ds.filter("id >= 100").to_pandas_dataframe()
    for read in (first, later):
        pd.testing.assert_frame_equal(read, frame, check_exact=True)
        for name in ("day", "stamp"):  # taken over as mapped, no conversion, writable
            assert isinstance(_owner(read[name].array._ndarray), mmap.mmap)
    assert later_table.schema == table.schema and later_table.equals(table)
    pd.testing.assert_frame_equal(kept, frame[["day", "gap"]].iloc[2:].reset_index(drop=True))
    assert filtered.schema == table.schema and filtered.equals(table.slice(100))
    pd.testing.assert_frame_equal(filtered_frame, frame.iloc[100:].reset_index(drop=True))

    later.loc[0, "day"] = pd.Timestamp("2000-01-01")  # a private page, not the entry
    assert ds.to_pandas_dataframe()["day"][0] == frame["day"][0]

    monkeypatch.delenv("ATELIER_HOME")
    monkeypatch.setenv("ATELIER_HOME", str(tmp_path / "other"))
    arrow_first = ds.to_arrow()  # a first read for Arrow, in another empty cache
    assert arrow_first.schema == table.schema and arrow_first.equals(table)
    assert _dataset(path).to_arrow().equals(table)  # and from the entry it wrote


def test_time_steps_see_dates_as_dates(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dates.csv"
    _dates_csv(path, 40)
    ds = _dataset(path).with_timestamp_columns(timestamp="day")
    between = ds.time_between("2012-01-01", "2015-12-31")
    with monkeypatch.context() as patch:
        patch.setenv(_tabular_cache.CACHE_ENV, "0")
        expected = between.to_pandas_dataframe()
    assert 0 < len(expected) < 40
    first = between.to_pandas_dataframe()
    later = between.to_pandas_dataframe()
    pd.testing.assert_frame_equal(first, expected, check_exact=True)
    pd.testing.assert_frame_equal(later, expected, check_exact=True)


def test_an_entry_of_the_old_layout_or_wrong_stored_types_is_read_again(
    cache_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "dates.csv"
    _dates_csv(path, 10)
    ds = _dataset(path)
    expected = ds.to_pandas_dataframe()
    parses: list[int] = []
    real = _tabular_read.read_files

    def counted(*args: Any, **kwargs: Any) -> Any:
        parses.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_tabular_read, "read_files", counted)
    for change in ({"layout": 2}, {"stored": {"0": "int64", "1": "int64", "4": "int64"}}):
        meta_path = _entry(cache_home) / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps({**meta, **change}))
        before = len(parses)
        pd.testing.assert_frame_equal(ds.to_pandas_dataframe(), expected, check_exact=True)
        assert len(parses) == before + 1  # not misread: parsed again, entry rebuilt
    ds.to_pandas_dataframe()
    assert len(parses) == 2  # the rebuilt entry serves
