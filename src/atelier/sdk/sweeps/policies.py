"""HyperDrive's early-termination policies, with azureml v1's names and Azure's rules.

An *interval* is one report of the primary metric by a trial (one ``run.log`` call): the
k-th value a trial logs is its interval k. A policy is applied to a trial at each interval
k that is a multiple of ``evaluation_interval`` and at least ``delay_evaluation``, once,
comparing the trial with what every trial had reported up to interval k:

- :class:`BanditPolicy` cancels a trial whose best value so far is worse than the best
  value of any trial so far by more than the slack (maximize: ``value < best / (1 +
  slack_factor)`` or ``value < best - slack_amount``; minimize mirrored).
- :class:`MedianStoppingPolicy` cancels a trial whose best value so far is worse than the
  median of the running averages (over intervals 1..k) of the trials that reached k.
- :class:`TruncationSelectionPolicy` cancels a trial whose value at interval k is in the
  lowest ``truncation_percentage`` % of the values at k of the trials that reached k
  (finished trials are left out of that ranking with ``exclude_finished_jobs``).

A NaN value is never best and counts as the worst value: a trial with only NaN so far
is cancelled at its first evaluation. :func:`decide` applies a policy to the histories
it is given, so a fixed table of metrics replays exactly as a sweep would see it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from atelier.core.errors import ValidationError

__all__ = [
    "BanditPolicy",
    "EarlyTerminationPolicy",
    "MedianStoppingPolicy",
    "NoTerminationPolicy",
    "TruncationSelectionPolicy",
    "decide",
    "policy_from_dict",
]


def _whole(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


class EarlyTerminationPolicy:
    """The base of every policy: how often it is applied and after how many intervals."""

    POLICY_NAME = "Default"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 0) -> None:
        self.evaluation_interval = _whole("evaluation_interval", evaluation_interval, 1)
        self.delay_evaluation = _whole("delay_evaluation", delay_evaluation, 0)

    @property
    def policy_name(self) -> str:
        return self.POLICY_NAME

    def applies_at(self, interval: int) -> bool:
        return (
            interval >= 1
            and interval % self.evaluation_interval == 0
            and interval >= self.delay_evaluation
        )

    def _cancels(
        self,
        run_id: str,
        interval: int,
        histories: Mapping[str, list[float]],
        maximize: bool,
        finished: set[str],
    ) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.POLICY_NAME,
            "properties": {
                "evaluation_interval": self.evaluation_interval,
                "delay_evaluation": self.delay_evaluation,
            },
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.to_dict()['properties']})"


class NoTerminationPolicy(EarlyTerminationPolicy):
    """No trial is cancelled early."""

    POLICY_NAME = "Default"

    def __init__(self) -> None:
        super().__init__()

    def applies_at(self, interval: int) -> bool:
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.POLICY_NAME, "properties": {}}


def _finite(values: Iterable[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]


def _best(values: Iterable[float], maximize: bool) -> float:
    """The best finite value, or NaN when there is none."""
    finite = _finite(values)
    if not finite:
        return math.nan
    return max(finite) if maximize else min(finite)


class BanditPolicy(EarlyTerminationPolicy):
    """Cancel a trial that falls more than a slack behind the best trial."""

    POLICY_NAME = "Bandit"

    def __init__(
        self,
        evaluation_interval: int = 1,
        slack_factor: float | None = None,
        slack_amount: float | None = None,
        delay_evaluation: int = 0,
    ) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (slack_factor is None) == (slack_amount is None):
            raise ValidationError("BanditPolicy takes exactly one of slack_factor or slack_amount")
        for name, value in (("slack_factor", slack_factor), ("slack_amount", slack_amount)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0
            ):
                raise ValidationError(f"{name} must be a number >= 0, got {value!r}")
        self.slack_factor = slack_factor
        self.slack_amount = slack_amount

    def _cancels(
        self,
        run_id: str,
        interval: int,
        histories: Mapping[str, list[float]],
        maximize: bool,
        finished: set[str],
    ) -> bool:
        mine = _best(histories[run_id][:interval], maximize)
        if math.isnan(mine):
            return True
        best = _best((v for h in histories.values() for v in h[:interval]), maximize)
        if self.slack_factor is not None:
            if maximize:
                return mine < best / (1 + self.slack_factor)
            return mine > best * (1 + self.slack_factor)
        amount = float(self.slack_amount or 0.0)
        return mine < best - amount if maximize else mine > best + amount

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["properties"].update(slack_factor=self.slack_factor, slack_amount=self.slack_amount)
        return data


class MedianStoppingPolicy(EarlyTerminationPolicy):
    """Cancel a trial whose best value is worse than the median of the running averages."""

    POLICY_NAME = "MedianStopping"

    def __init__(self, evaluation_interval: int = 1, delay_evaluation: int = 5) -> None:
        super().__init__(evaluation_interval, delay_evaluation)

    def _cancels(
        self,
        run_id: str,
        interval: int,
        histories: Mapping[str, list[float]],
        maximize: bool,
        finished: set[str],
    ) -> bool:
        mine = _best(histories[run_id][:interval], maximize)
        if math.isnan(mine):
            return True
        averages = []
        for history in histories.values():
            window = _finite(history[:interval])
            if len(history) >= interval and window:
                averages.append(statistics.fmean(window))
        median = statistics.median(averages)
        return mine < median if maximize else mine > median


class TruncationSelectionPolicy(EarlyTerminationPolicy):
    """Cancel the trials in the lowest ``truncation_percentage`` % at each interval."""

    POLICY_NAME = "TruncationSelection"

    def __init__(
        self,
        truncation_percentage: int,
        evaluation_interval: int = 1,
        delay_evaluation: int = 0,
        exclude_finished_jobs: bool = False,
    ) -> None:
        super().__init__(evaluation_interval, delay_evaluation)
        if (
            isinstance(truncation_percentage, bool)
            or not isinstance(truncation_percentage, int)
            or not 1 <= truncation_percentage <= 99
        ):
            raise ValidationError(
                f"truncation_percentage must be a whole number from 1 to 99, "
                f"got {truncation_percentage!r}"
            )
        self.truncation_percentage = truncation_percentage
        self.exclude_finished_jobs = bool(exclude_finished_jobs)

    def _cancels(
        self,
        run_id: str,
        interval: int,
        histories: Mapping[str, list[float]],
        maximize: bool,
        finished: set[str],
    ) -> bool:
        def score(value: float) -> float:
            if math.isnan(value):
                return -math.inf
            return value if maximize else -value

        ranked = sorted(
            (score(history[interval - 1]), order, other)
            for order, (other, history) in enumerate(histories.items())
            if len(history) >= interval
            and (other == run_id or not (self.exclude_finished_jobs and other in finished))
        )
        cut = len(ranked) * self.truncation_percentage // 100
        return run_id in {other for _, _, other in ranked[:cut]}

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["properties"].update(
            truncation_percentage=self.truncation_percentage,
            exclude_finished_jobs=self.exclude_finished_jobs,
        )
        return data


def decide(
    policy: EarlyTerminationPolicy,
    maximize: bool,
    histories: Mapping[str, list[float]],
    running: Iterable[str],
    evaluated: dict[str, int],
    finished: set[str] | None = None,
) -> dict[str, int]:
    """The running trials the policy cancels now, each with the interval that cancels it.

    ``histories`` holds every trial's primary-metric values in the order logged;
    ``evaluated`` remembers, per trial, the last interval already looked at (it is
    updated), so each interval is evaluated once however often this is called."""
    cancel: dict[str, int] = {}
    for run_id in running:
        history = histories.get(run_id) or []
        start = evaluated.get(run_id, 0) + 1
        for interval in range(start, len(history) + 1):
            evaluated[run_id] = interval
            if policy.applies_at(interval) and policy._cancels(
                run_id, interval, histories, maximize, finished or set()
            ):
                cancel[run_id] = interval
                break
    return cancel


_POLICIES: dict[str, type[EarlyTerminationPolicy]] = {
    "Bandit": BanditPolicy,
    "MedianStopping": MedianStoppingPolicy,
    "TruncationSelection": TruncationSelectionPolicy,
    "Default": NoTerminationPolicy,
}


def policy_from_dict(data: Mapping[str, Any] | None) -> EarlyTerminationPolicy:
    """The policy :meth:`EarlyTerminationPolicy.to_dict` described (none: no termination)."""
    if not data:
        return NoTerminationPolicy()
    kind = _POLICIES.get(str(data.get("name")))
    if kind is None:
        raise ValidationError(
            f"unknown early-termination policy {data.get('name')!r}; use one of "
            "Bandit, MedianStopping, TruncationSelection, Default"
        )
    properties = {k: v for k, v in (data.get("properties") or {}).items() if v is not None}
    try:
        return kind(**properties)
    except TypeError as exc:
        raise ValidationError(f"{data.get('name')} policy: {exc}") from exc
