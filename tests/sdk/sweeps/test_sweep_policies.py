"""Azure's early-termination rules, replayed over fixed tables of reported metrics: which
trial is canceled at which interval."""

from __future__ import annotations

import math

import pytest

from atelier.core.errors import ValidationError
from atelier.sdk.sweeps.policies import (
    BanditPolicy,
    EarlyTerminationPolicy,
    MedianStoppingPolicy,
    NoTerminationPolicy,
    TruncationSelectionPolicy,
    decide,
    policy_from_dict,
)

NAN = math.nan


def replay(
    policy: EarlyTerminationPolicy, maximize: bool, table: dict[str, list[float]]
) -> dict[str, int]:
    """Every trial reports interval k, then the policy looks; a canceled trial reports no
    more. Returns the canceled trials and the interval that canceled each."""
    canceled: dict[str, int] = {}
    evaluated: dict[str, int] = {}
    for k in range(1, max(len(v) for v in table.values()) + 1):
        histories = {run: values[: canceled.get(run, k)] for run, values in table.items()}
        running = [run for run in table if run not in canceled and len(table[run]) >= k]
        canceled.update(decide(policy, maximize, histories, running, evaluated))
    return canceled


def test_bandit_slack_factor_cancels_runs_outside_the_slack_of_the_best() -> None:
    table = {
        "A": [0.5, 0.6, 0.7, 0.8],
        "B": [0.5, 0.55, 0.6, 0.65],
        "C": [0.4, 0.5, 0.52, 0.53],
        "D": [0.3, 0.9, 0.9, 0.9],
    }
    # interval 1: best 0.5, bar 0.5 / 1.1 = 0.4545: C and D are out
    # interval 3: best 0.7, bar 0.636: B's best so far (0.6) is out
    assert replay(BanditPolicy(slack_factor=0.1), True, table) == {"C": 1, "D": 1, "B": 3}


def test_bandit_slack_amount_minimizing_with_a_delay() -> None:
    table = {"A": [1.0, 0.8, 0.6], "B": [1.1, 1.0, 0.95], "C": [1.5, 1.4, 0.1]}
    policy = BanditPolicy(slack_amount=0.2, delay_evaluation=2)
    # interval 1 is not evaluated; at 2 the bar is 0.8 + 0.2: B (1.0) stays, C (1.4) goes;
    # at 3 the bar is 0.6 + 0.2 and B's best (0.95) is above it
    assert replay(policy, False, table) == {"C": 2, "B": 3}


def test_bandit_evaluates_only_at_multiples_of_the_interval() -> None:
    table = {"A": [1.0, 1.0, 1.0, 1.0], "B": [0.1, 0.1, 0.1, 0.1]}
    assert replay(BanditPolicy(slack_factor=0.1, evaluation_interval=2), True, table) == {"B": 2}
    policy = BanditPolicy(slack_factor=0.1, evaluation_interval=3, delay_evaluation=4)
    assert replay(policy, True, {"A": [1.0] * 7, "B": [0.1] * 7}) == {"B": 6}


def test_median_stopping_compares_the_best_value_with_the_median_of_running_averages() -> None:
    table = {
        "A": [0.9, 0.9, 0.9],
        "B": [0.5, 0.6, 0.7],
        "C": [0.2, 0.3, 0.4],
        "D": [0.1, 0.1, 0.95],
    }
    # interval 2: averages 0.9, 0.55, 0.25, 0.1 -> median 0.4: C (0.3) and D (0.1) go;
    # interval 3: only A and B reached it: averages 0.9 and 0.6 -> median 0.75 > B's 0.7
    policy = MedianStoppingPolicy(delay_evaluation=2)
    assert replay(policy, True, table) == {"C": 2, "D": 2, "B": 3}


def test_median_stopping_waits_five_intervals_by_default() -> None:
    table = {"A": [1.0] * 6, "B": [0.5] * 6, "C": [0.1] * 6}
    assert MedianStoppingPolicy().delay_evaluation == 5
    # at 5 the median of 1.0, 0.5, 0.1 is 0.5: C goes; at 6 that of 1.0 and 0.5 is 0.75: B
    assert replay(MedianStoppingPolicy(), True, table) == {"C": 5, "B": 6}


def test_truncation_selection_cancels_the_lowest_percentage_at_each_interval() -> None:
    table = {
        "A": [0.9, 0.91, 0.92],
        "B": [0.8, 0.7, 0.99],
        "C": [0.7, 0.85, 0.6],
        "D": [0.6, 0.8, 0.61],
        "E": [0.5, 0.99, 0.99],
    }
    # 25 % of 5 is 1 at interval 1 (E); 25 % of 4 at interval 2 (B at 0.7); 3 left: 0
    assert replay(TruncationSelectionPolicy(25), True, table) == {"E": 1, "B": 2}
    # minimizing, the highest values are the worst
    assert replay(TruncationSelectionPolicy(25), False, table) == {"A": 1, "E": 2}


def test_truncation_selection_can_leave_finished_trials_out_of_the_ranking() -> None:
    histories = {"A": [0.9], "B": [0.8], "C": [0.7], "E": [0.5], "F": [0.1]}
    running = ["A", "B", "C", "E"]
    keep = TruncationSelectionPolicy(20)
    assert decide(keep, True, histories, running, {}, finished={"F"}) == {}
    leave_out = TruncationSelectionPolicy(20, exclude_finished_jobs=True)
    assert decide(leave_out, True, histories, running, {}, finished={"F"}) == {}
    leave_out = TruncationSelectionPolicy(25, exclude_finished_jobs=True)
    assert decide(leave_out, True, histories, running, {}, finished={"F"}) == {"E": 1}
    assert decide(TruncationSelectionPolicy(25), True, histories, running, {}, {"F"}) == {}


def test_nan_is_never_best_and_a_nan_trial_is_canceled() -> None:
    table = {"A": [0.5, 0.6], "N": [NAN, NAN], "B": [0.55, NAN]}
    # B's NaN at interval 2 does not count: its best stays 0.55, within 0.6 / 1.1
    assert replay(BanditPolicy(slack_factor=0.1), True, table) == {"N": 1}
    assert replay(TruncationSelectionPolicy(34), True, {"A": [0.1], "N": [NAN], "B": [0.2]}) == {
        "N": 1
    }
    table = {"A": [0.5, 0.5], "B": [0.5, 0.5], "N": [NAN, NAN]}
    assert replay(MedianStoppingPolicy(delay_evaluation=1), False, table) == {"N": 1}


def test_no_termination_never_cancels() -> None:
    table = {"A": [1.0] * 5, "B": [0.0] * 5}
    assert replay(NoTerminationPolicy(), True, table) == {}


def test_each_interval_is_evaluated_once() -> None:
    evaluated: dict[str, int] = {}
    policy = BanditPolicy(slack_factor=0.5)
    histories = {"A": [1.0], "B": [0.9]}
    assert decide(policy, True, histories, ["A", "B"], evaluated) == {}
    histories["A"].append(10.0)  # B is not re-judged against A's later best
    assert decide(policy, True, histories, ["A", "B"], evaluated) == {}
    assert evaluated == {"A": 2, "B": 1}


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (BanditPolicy, "exactly one of slack_factor or slack_amount"),
        (lambda: BanditPolicy(slack_factor=0.1, slack_amount=1), "exactly one"),
        (lambda: BanditPolicy(slack_factor=-1), "slack_factor must be a number >= 0"),
        (lambda: BanditPolicy(slack_factor=0.1, evaluation_interval=0), "evaluation_interval"),
        (lambda: MedianStoppingPolicy(delay_evaluation=-1), "delay_evaluation"),
        (lambda: TruncationSelectionPolicy(0), "truncation_percentage"),
        (lambda: TruncationSelectionPolicy(100), "truncation_percentage"),
    ],
)
def test_bad_policy_arguments_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build()  # type: ignore[operator]


def test_policies_round_trip_through_their_stored_form() -> None:
    for policy in (
        BanditPolicy(slack_amount=0.2, evaluation_interval=2, delay_evaluation=3),
        MedianStoppingPolicy(evaluation_interval=1, delay_evaluation=4),
        TruncationSelectionPolicy(30, exclude_finished_jobs=True),
        NoTerminationPolicy(),
    ):
        again = policy_from_dict(policy.to_dict())
        assert type(again) is type(policy)
        assert again.to_dict() == policy.to_dict()
    with pytest.raises(ValidationError, match="unknown early-termination policy"):
        policy_from_dict({"name": "Sometimes"})
