"""What a published pipeline, a pipeline endpoint and a schedule show of their stored
record: one set of read-only properties for the three."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class _Described(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def status(self) -> str: ...


RecordT = TypeVar("RecordT", bound=_Described)


class RecordView(Generic[RecordT]):
    """``id``, ``name``, ``description`` and ``status`` (Active or Disabled) of ``_record``."""

    _record: RecordT

    @property
    def id(self) -> str:
        return self._record.id

    @property
    def name(self) -> str:
        return self._record.name

    @property
    def description(self) -> str:
        return self._record.description

    @property
    def status(self) -> str:
        return self._record.status
