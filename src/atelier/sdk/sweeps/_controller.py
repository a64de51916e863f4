"""The sweep controller: a detached process per sweep that runs its trials.

It asks the sweep's Optuna study for trials, runs each as a child run of the sweep through
the run supervisor (on the sweep's compute target, at most ``max_concurrent_runs`` at a
time), applies the early-termination policy to the trials' primary metric as they log it,
tells the study each finished trial's best value, and ends the sweep when its budget is
spent, its time is up, or it is canceled.

Everything it knows is stored: the study (Optuna's storage) and the trials (child runs,
each with the number of its Optuna trial). A controller that is killed can be started
again (:func:`atelier.sdk.sweeps._launch.start_controller`); it reads both back and carries
on: a trial asked for but never recorded is recorded and run once a slot is free (told
pruned if the sweep ends first), a recorded trial is never started a second time.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import Any

from atelier.client.backend import Backend
from atelier.core.errors import AtelierError, StoreError
from atelier.core.pipelines import OUTPUT_LOCATIONS
from atelier.core.records import RunRecord
from atelier.core.status import TERMINAL_STATUSES, RunStatus
from atelier.core.timeutil import now_ms
from atelier.execution.supervisor_process import launch
from atelier.execution.sweep_start import Waker
from atelier.sdk.sweeps import _study
from atelier.sdk.sweeps.parameters import apply_arguments
from atelier.sdk.sweeps.policies import NoTerminationPolicy, decide, policy_from_dict
from atelier.sdk.sweeps.run import metric_series
from atelier.sdk.sweeps.sampling import BayesianParameterSampling, sampling_from_dict
from atelier.sdk.tracking._submit import SCRIPT_RUN_TYPE

_POLL_SECONDS = 0.1
_POLICY_SECONDS = 0.5
#: how often the controller lists every trial (between, it reads the unfinished ones)
_LIST_SECONDS = 5.0
#: a recorded trial not picked up by a supervisor this long is launched again on resume
_ORPHAN_MS = 10_000
#: passes in a row the store may fail before the controller gives up (and fails the sweep)
_MAX_FAILED_PASSES = 600


def tag_name(name: str) -> str:
    return name.lstrip("-")


class Controller:
    def __init__(self, backend: Backend, workspace: str, run_id: str) -> None:
        self.backend = backend
        self.workspace = workspace
        self.run_id = run_id
        record = backend.runs.get(workspace, run_id)
        definition = record.definition or {}
        spec = definition["hyperdrive"]
        self.trial: dict[str, Any] = definition["trial"]
        self.experiment = record.experiment_name
        self.snapshot_id = record.snapshot_id
        self.target = record.target
        self.spec = spec
        #: a pipeline step's outputs, and which of them gets the trials' metrics
        self.step_outputs: list[dict[str, Any]] = list(definition.get("outputs") or [])
        self.metrics_output: str | None = definition.get("metrics_output")
        self.sampling = sampling_from_dict(spec["sampling"])
        self.policy = policy_from_dict(spec["policy"])
        self.metric = str(spec["primary_metric_name"])
        self.maximize = spec["primary_metric_goal"] == "MAXIMIZE"
        self.total = int(min(spec["max_total_runs"], self.sampling.size()))
        self.concurrent = int(spec["max_concurrent_runs"] or 1)
        self.deadline_ms = (record.started_ms or record.created_ms) + int(
            spec["max_duration_minutes"] * 60_000
        )
        self.distributions = self.sampling.distributions()
        self.histories: dict[str, list[float]] = {}
        self.evaluated: dict[str, int] = {}
        self.launched: set[str] = set()
        #: trials whose final history is known
        self.settled: set[str] = set()
        self.last_policy = 0.0
        self.study: Any = None
        #: trials asked for so far (warm-start trials are not counted)
        self.asked = 0
        #: whether a completed trial has shown that the primary metric is logged
        self.checked_metric = False
        #: Optuna trials asked for and not yet told, by number: their sampled parameters
        self.open_trials: dict[int, dict[str, Any]] = {}
        #: the sweep's trials by run id, and when they were last all listed
        self.children: dict[str, RunRecord] = {}
        self.listed = -math.inf
        #: a trial asked for ahead of a free slot, not recorded yet: (number, parameters)
        self.ahead: tuple[int, dict[str, Any]] | None = None
        #: trials a killed controller asked for and never recorded: run as slots free
        self.orphans: list[tuple[int, dict[str, Any]]] = []
        self.ask_ahead = not isinstance(self.sampling, BayesianParameterSampling)
        #: whether the first pass (which settles what a killed controller left) is done
        self.started = False

    # --- the study -------------------------------------------------------------------
    def _open(self) -> int:
        import optuna

        env = self.backend.child_environment()
        self.study = _study.open_study(env, self.run_id, self.maximize, sampler=None)
        trials = self.study.get_trials(deepcopy=False)
        self.study.sampler = self.sampling.sampler(len(trials), self.spec.get("seed"))
        if not trials and not self.study.user_attrs.get("prepared"):
            self._warm_start()
            self.study.set_user_attr("prepared", True)
            trials = self.study.get_trials(deepcopy=False)
        self.open_trials = {
            t.number: self._asked_params(t)
            for t in trials
            if t.state == optuna.trial.TrialState.RUNNING
        }
        return sum(1 for t in trials if not t.user_attrs.get(_study.WARM_ATTRIBUTE))

    def _asked_params(self, frozen: Any) -> dict[str, Any]:
        """A trial's parameters; a controller killed in the middle of ``study.ask`` leaves
        some unset, and they are sampled now, as that ask would have."""
        optuna_space = {name: dist for name, (dist, _) in self.distributions.items()}
        if set(frozen.params) == set(optuna_space):
            return dict(frozen.params)
        import optuna

        trial = optuna.Trial(self.study, frozen._trial_id)
        for name, distribution in optuna_space.items():
            trial._suggest(name, distribution)  # what study.ask does for fixed distributions
        return dict(trial.params)

    def _warm_start(self) -> None:
        optuna_space = {name: dist for name, (dist, _) in self.distributions.items()}
        earlier: list[tuple[dict[str, Any], float]] = []
        for sweep_id in self.spec.get("resume_from") or []:
            for child in self.backend.runs.children(self.workspace, sweep_id, False):
                value = self._final_value(child)
                if child.status == RunStatus.COMPLETED and value is not None:
                    earlier.append((_study.raw_params(child.properties), value))
        for trial in _study.warm_trials(optuna_space, earlier):
            self.study.add_trial(trial)
        for child_id in self.spec.get("resume_child_runs") or []:
            child = self.backend.runs.get(self.workspace, child_id)
            params = _study.raw_params(child.properties)
            if set(params) == set(optuna_space):
                self.study.enqueue_trial(params, skip_if_exists=False)

    def _final_value(self, child: RunRecord) -> float | None:
        return _study.best_value(self._history(child.run_id), self.maximize)

    def _history(self, run_id: str) -> list[float]:
        return self._histories([run_id])[run_id]

    def _histories(self, run_ids: list[str]) -> dict[str, list[float]]:
        """Each run's primary-metric values in logged order (NaN included), in one call."""
        if not run_ids:
            return {}
        found = self.backend.metrics.get(self.workspace, run_ids, self.metric)
        return {r: metric_series(found.get(r, {}).get(self.metric, [])) for r in run_ids}

    # --- trials ------------------------------------------------------------------------
    def _ask(self) -> None:
        if self.ahead is None:
            self._ask_ahead()
        assert self.ahead is not None
        number, params = self.ahead
        self.ahead = None
        self._record_trial(number, params)

    def _ask_ahead(self) -> None:
        """Ask the study for the next trial before a slot is free, so that a trial ending
        starts the next at once (random and grid sampling, which learn nothing from results)."""
        optuna_space = {name: dist for name, (dist, _) in self.distributions.items()}
        trial = self.study.ask(fixed_distributions=optuna_space)
        self.open_trials[trial.number] = dict(trial.params)
        self.ahead = (trial.number, dict(trial.params))

    def _record_trial(self, number: int, raw: dict[str, Any]) -> RunRecord:
        values = {name: self.distributions[name][1](raw[name]) for name in self.distributions}
        definition = dict(self.trial)
        definition["arguments"] = apply_arguments(list(self.trial.get("arguments") or []), values)
        definition["outputs"] = [_trial_output(o, number) for o in self.trial.get("outputs") or []]
        shown = json.dumps(values)
        record = self.backend.runs.create(
            self.workspace,
            self.experiment,
            parent_run_id=self.run_id,
            status=RunStatus.QUEUED,
            run_type=SCRIPT_RUN_TYPE,
            target=self.target,
            tags={"hyperparameters": shown, **{tag_name(k): str(v) for k, v in values.items()}},
            properties={
                _study.TRIAL_PROPERTY: str(number),
                _study.RAW_PROPERTY: json.dumps(raw),
                "hyperparameters": shown,
                "azureml.runsource": SCRIPT_RUN_TYPE,
            },
            definition=definition,
            snapshot_id=self.snapshot_id,
        )
        if definition.get("inputs"):
            self.backend.datasets.record_run_inputs(
                self.workspace, record.run_id, definition["inputs"]
            )
        self.children[record.run_id] = record
        self._launch(record.run_id)
        return record

    def _launch(self, run_id: str) -> None:
        self.launched.add(run_id)
        launch(self.backend, self.workspace, run_id)

    def _settle(self) -> None:
        """Tell the study each finished trial's outcome; queue the trials a killed
        controller left asked-for but not recorded (they run as slots free), and start
        those it recorded but never started."""
        import optuna

        by_trial = {
            int(c.properties[_study.TRIAL_PROPERTY]): c
            for c in self.children.values()
            if c.properties.get(_study.TRIAL_PROPERTY, "").isdigit()
        }
        for number, params in list(self.open_trials.items()):
            child = by_trial.get(number)
            if child is None:
                asked = [n for n, _ in self.orphans] + ([self.ahead[0]] if self.ahead else [])
                if number not in asked:
                    self.orphans.append((number, params))
            elif child.status in TERMINAL_STATUSES:
                value = self._final_value(child)
                if child.status == RunStatus.COMPLETED and value is not None:
                    self.study.tell(number, value)
                elif child.status == RunStatus.CANCELED:
                    self.study.tell(number, state=optuna.trial.TrialState.PRUNED)
                else:
                    self.study.tell(number, state=optuna.trial.TrialState.FAIL)
                del self.open_trials[number]
            elif (
                child.status == RunStatus.QUEUED
                and child.run_id not in self.launched
                and child.supervisor is None
                and child.created_ms < now_ms() - _ORPHAN_MS
            ):
                self._launch(child.run_id)

    def _apply_policy(self, active: list[RunRecord], children: list[RunRecord]) -> None:
        if isinstance(self.policy, NoTerminationPolicy) or not active:
            return
        if time.monotonic() - self.last_policy < _POLICY_SECONDS:
            return
        self.last_policy = time.monotonic()
        finished = {c.run_id for c in children if c.status in TERMINAL_STATUSES}
        stale = [c.run_id for c in children if c.run_id not in self.settled]
        self.histories.update(self._histories(stale))
        self.settled.update(run_id for run_id in stale if run_id in finished)
        running = [c.run_id for c in active if c.status == RunStatus.RUNNING]
        for run_id, interval in decide(
            self.policy, self.maximize, self.histories, running, self.evaluated, finished
        ).items():
            with contextlib.suppress(AtelierError):
                self.backend.runs.add_properties(
                    self.workspace,
                    run_id,
                    {"hyperdrive.canceled_by": f"{self.policy.policy_name} at interval {interval}"},
                )
                self.backend.runs.cancel(self.workspace, run_id)

    # --- ending ---------------------------------------------------------------------------
    def _cancel_all(self, active: list[RunRecord]) -> None:
        for child in active:
            with contextlib.suppress(AtelierError):
                self.backend.runs.cancel(self.workspace, child.run_id)

    def _end(self, status: RunStatus, error: dict[str, Any] | None = None) -> None:
        import optuna

        # asked for and never run: not left running in the study
        for number, _ in self.orphans + ([self.ahead] if self.ahead else []):
            with contextlib.suppress(Exception):
                self.study.tell(number, state=optuna.trial.TrialState.PRUNED)
            self.open_trials.pop(number, None)
        self.orphans, self.ahead = [], None
        with contextlib.suppress(AtelierError):
            self.backend.runs.transition(self.workspace, self.run_id, status, error)

    def _missing_metric(self, children: list[RunRecord]) -> RunRecord | None:
        """The first completed trial, if it never logged the primary metric."""
        completed = [c for c in children if c.status == RunStatus.COMPLETED]
        if not completed:
            return None
        first = min(completed, key=lambda c: c.ended_ms or 0)
        return first if not self._history(first.run_id) else None

    def _complete(self, children: list[RunRecord]) -> None:
        """End the sweep Completed; a pipeline step's sweep first points its outputs at the
        best trial's and writes its metrics output."""
        if self.step_outputs:
            with contextlib.suppress(AtelierError):
                self._publish_outputs(children)
        self._end(RunStatus.COMPLETED)

    def _publish_outputs(self, children: list[RunRecord]) -> None:
        scored = [
            (value, child)
            for child in children
            if child.status == RunStatus.COMPLETED
            and (value := self._final_value(child)) is not None
            and not math.isnan(value)
        ]
        places: dict[str, Any] = {}
        if scored:
            pick = max if self.maximize else min
            best = pick(scored, key=lambda pair: pair[0])[1]
            for entry in (best.definition or {}).get("outputs") or []:
                if entry.get("destination"):
                    places[entry["name"]] = entry["destination"]
        if self.metrics_output:
            entry = next(o for o in self.step_outputs if o["name"] == self.metrics_output)
            store, prefix = entry["destination"]
            ids = [c.run_id for c in children]
            metrics = self.backend.metrics.get(self.workspace, ids, None) if ids else {}
            body = json.dumps({run_id: metrics.get(run_id, {}) for run_id in ids}, default=str)
            files = self.backend.datastores.files(self.workspace, store)
            files.write_bytes(f"{prefix}/metrics.json", body.encode(), overwrite=True)
        if places:
            self.backend.runs.add_properties(
                self.workspace, self.run_id, {OUTPUT_LOCATIONS: json.dumps(places)}
            )

    def drive(self) -> RunStatus:
        """Run the sweep until it ends; its final status."""
        self.waker = Waker(self.run_id)
        try:
            return self._drive()
        finally:
            self.waker.close()
            if self.study is not None:
                _study.close_study(self.study)

    def _drive(self) -> RunStatus:
        import optuna

        self.asked = self._open()
        failures = 0
        while True:
            try:
                status = self._pass()
                failures = 0
            except (StoreError, optuna.exceptions.StorageInternalError):
                # a busy or restarting database: the next pass tries again
                failures += 1
                if failures >= _MAX_FAILED_PASSES:
                    raise
                status = None
            if status is not None:
                return status
            self.waker.wait(_POLL_SECONDS)

    def _pass(self) -> RunStatus | None:
        """Look at the sweep once and act: the sweep's final status once it has ended."""
        parent = self.backend.runs.get(self.workspace, self.run_id)
        if parent.status in TERMINAL_STATUSES:
            return parent.status
        children = self._children()
        settled_first = not self.started
        if settled_first:  # first, what a killed controller left asked-for but not running
            self._settle()
            self.started = True
        active = [c for c in children if c.status not in TERMINAL_STATUSES]
        if parent.status == RunStatus.CANCEL_REQUESTED:
            self._cancel_all(active)
            if not active:
                self._end(RunStatus.CANCELED)
        elif not self.checked_metric and (missing := self._missing_metric(children)):
            self._cancel_all(active)
            self._end(
                RunStatus.FAILED,
                {
                    "code": "PrimaryMetricNotLogged",
                    "message": f"trial {missing.run_id} completed without logging the "
                    f"primary metric {self.metric!r}; log it in the script with "
                    f"run.log({self.metric!r}, value) or fix primary_metric_name",
                },
            )
        elif now_ms() > self.deadline_ms:
            self._cancel_all(active)
            if not active:
                self.backend.runs.add_properties(
                    self.workspace,
                    self.run_id,
                    {"hyperdrive.stop_reason": "max_duration_minutes reached"},
                )
                self._complete(self._children(full=True))
        else:
            self._run_trials(active, children)
        if not settled_first:  # after the launches: a free slot does not wait for the study
            self._settle()
        return None

    def _run_trials(self, active: list[RunRecord], children: list[RunRecord]) -> None:
        """Apply the policy, fill the free slots with trials, end the sweep once it is done."""
        self.checked_metric = any(c.status == RunStatus.COMPLETED for c in children)
        self._apply_policy(active, children)
        slots = self.concurrent - len(active)
        while slots > 0 and (self.orphans or self.asked < self.total):
            if self.orphans:  # already counted in self.asked
                self._record_trial(*self.orphans.pop(0))
            else:
                self._ask()
                self.asked += 1
            slots -= 1
        if self.ask_ahead and self.ahead is None and self.asked < self.total:
            self._ask_ahead()
        if self.asked >= self.total and not active:
            self._finish(children)

    def _children(self, full: bool = False) -> list[RunRecord]:
        """The sweep's trials as they are now. Listing them all costs more the more there
        are, so between full listings (every few seconds, and when the sweep ends) only the
        unfinished ones are read again: the trials this controller records it knows."""
        if full or time.monotonic() - self.listed > _LIST_SECONDS:
            self.listed = time.monotonic()
            listed = self.backend.runs.children(self.workspace, self.run_id, False)
            self.children = {c.run_id: c for c in listed}
        else:
            for run_id, child in list(self.children.items()):
                if child.status not in TERMINAL_STATUSES:
                    self.children[run_id] = self.backend.runs.get(self.workspace, run_id)
        return list(self.children.values())

    def _finish(self, children: list[RunRecord]) -> None:
        if self.open_trials:
            return  # told on the next pass
        children = self._children(full=True)
        if children and all(c.status == RunStatus.FAILED for c in children):
            first = min(children, key=lambda c: c.created_ms)
            message = (first.error or {}).get("message", "no error recorded")
            self._end(
                RunStatus.FAILED,
                {"code": "AllTrialsFailed", "message": f"every trial failed; the first: {message}"},
            )
        else:
            self._complete(children)


def _trial_output(entry: dict[str, Any], number: int) -> dict[str, Any]:
    """A pipeline step's output, as one trial writes it: a folder of the trial's own beside
    the step's (``<output>.trials/<trial>``), so trials never write over each other."""
    destination = entry.get("destination")
    if not destination:
        return entry
    store, prefix = destination
    return {**entry, "destination": [store, f"{prefix}.trials/{number}"]}
