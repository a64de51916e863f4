"""ORM models of pipeline schedules: the schedule, and one row per slot it fired.

``ScheduleFiringRow``'s unique (schedule, slot) is what makes a slot fire once even with
several schedulers on one database; the schedule's ``next_due_ms`` is the compare-and-swap
field a scheduler claims a slot with (see ``services/schedule_slots.py``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from atelier.store.models.base import Base


class ScheduleRow(Base):
    """A schedule: its target, its recurrence or watched datastore path, and its state."""

    __tablename__ = "schedules"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        Index("ix_schedules_status_next_due_ms", "status", "next_due_ms"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    target_definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    experiment_name: Mapped[str] = mapped_column(String(255))
    pipeline_parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    recurrence: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    datastore_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    path_on_datastore: Mapped[str | None] = mapped_column(Text, nullable=True)
    polling_interval: Mapped[int]
    data_path_parameter_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    continue_on_step_failure: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: what a recurrence without a start time counts from: when it was made or last changed
    anchor_ms: Mapped[int | None] = mapped_column(nullable=True)
    #: the next slot to fire (recurrence) or to poll (data trigger); None when disabled
    next_due_ms: Mapped[int | None] = mapped_column(nullable=True)
    #: what the watched path held at the last poll: {path: "size:modified"}
    data_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_ms: Mapped[int]
    updated_ms: Mapped[int]


class ScheduleFiringRow(Base):
    """One slot a scheduler claimed, and the run it started (or why it started none)."""

    __tablename__ = "schedule_firings"
    __table_args__ = (UniqueConstraint("schedule_id", "slot_ms"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    slot_ms: Mapped[int]
    reason: Mapped[str] = mapped_column(String(16))
    fired_ms: Mapped[int]
    run_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_paths: Mapped[dict[str, Any]] = mapped_column(JSON)
