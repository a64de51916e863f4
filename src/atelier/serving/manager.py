"""The endpoint manager: keeps an endpoint's deployments running as its record says.

It reads the endpoint from the backend twice a second and acts on changes:

- a new deployment, or a new generation of one, is *rolled out*: the new replicas start
  beside the old ones; only when all of them are ready (their ``init()`` succeeded) do
  they take the traffic, and the old replicas stop once their requests in flight are
  answered. When a new replica fails to start, the rollout is abandoned, the old
  replicas keep serving, and the deployment reports ``Failed`` with the log's end;
- a replica that exits is replaced (its requests in flight get a 502 from the router),
  and one that misses three ``/healthz`` checks in a row is killed, then replaced;
- with autoscaling, a deployment grows while its replicas average more than
  ``autoscale_target_in_flight`` requests in flight, and shrinks after a quiet spell;
- key and traffic changes apply at once (the router reads them from here, and the
  replicas get them over their channels);
- for an endpoint with one deployment, it hands client connections to that deployment's
  replicas (:mod:`atelier.serving.handoff`), one after the other; a replica being replaced
  gives its connections back first, and so does every replica when a second deployment
  or data collection makes the router take the requests again.

What it does is reported back (states, replicas, the revision acted on). The decisions
live beside it: replica counts and health in :mod:`atelier.serving.scaling`, where
requests go in :mod:`atelier.serving.traffic`.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from atelier.client.api import EndpointAPI, EndpointReportingAPI
from atelier.core.endpoints import (
    FAILED,
    HEALTHY,
    TRANSITIONING,
    UNHEALTHY,
    EndpointRecord,
    ReplicaReport,
)
from atelier.core.errors import AtelierError
from atelier.serving.handoff import ADOPT, DRAIN, DRAINED, RETURN, receive, send, send_settings
from atelier.serving.replicas import (
    READY,
    Deployment,
    Replica,
    ReplicaStartError,
    spec_key,
    start_replica,
    wait_ready,
)
from atelier.serving.scaling import (
    HEALTH_MISSES,
    HealthWatch,
    autoscale_step,
    health_seconds,
    rollout_count,
)
from atelier.serving.tls import EndpointTls
from atelier.serving.traffic import direct_deployment, route

__all__ = ["EndpointManager"]

RECONCILE_SECONDS = 0.5
MONITOR_SECONDS = 0.2
AUTOSCALE_SECONDS = 1.0
_MAX_BACKOFF_SECONDS = 30.0


class EndpointManager:
    """Runs one endpoint's replicas; the router asks it where to send each request."""

    def __init__(
        self,
        endpoints: EndpointAPI,
        reporting: EndpointReportingAPI,
        workspace: str,
        name: str,
        log_path: Path,
    ) -> None:
        self.endpoints = endpoints
        self.reporting = reporting
        self.workspace = workspace
        self.name = name
        self.log_path = log_path
        self.log: IO[bytes] = log_path.open("ab", buffering=0)
        self.internal_key = secrets.token_urlsafe(32)
        self.deployments: dict[str, Deployment] = {}
        self.traffic: dict[str, int] = {}
        self.key_digests: tuple[str, ...] = ()
        self.auth_enabled = True
        self.config: dict[str, Any] = {}
        self.tls = EndpointTls(log_path.parent)
        self.revision_seen = 0
        self._last_report: Any = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._reconciling = asyncio.Lock()
        self._turn = 0
        self._direct = False
        #: what to do with a client connection a replica gave back (the router's dispatch)
        self.on_returned: Callable[[socket.socket], None] = _close

    # --- lifecycle --------------------------------------------------------------------------
    def say(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        self.log.write(f"{stamp} [manager] {message}\n".encode())

    async def start(self) -> None:
        """Read the record, start the deployments' replicas, and the loops."""
        await self.reconcile()
        loops = (self._reconcile_loop, self._monitor_loop, self._autoscale_loop, self._health_loop)
        for loop in loops:
            self._spawn(loop())

    async def stop(self) -> None:
        """Stop the loops, then every replica."""
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        every = [
            replica
            for deployment in self.deployments.values()
            for replica in (*deployment.active, *deployment.starting, *deployment.draining)
        ]
        await asyncio.gather(*(replica.stop(grace=5) for replica in every))
        self.say("stopped")

    def _spawn(self, coroutine: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_SECONDS)
            try:
                await self.reconcile()
            except AtelierError as exc:
                self.say(f"could not read or report the endpoint's state: {exc}")

    async def _monitor_loop(self) -> None:
        while True:
            await asyncio.sleep(MONITOR_SECONDS)
            for deployment in list(self.deployments.values()):
                self._check_replicas(deployment)
                load = sum(
                    replica.in_flight + replica.direct_in_flight() for replica in deployment.active
                )
                deployment.samples = [*deployment.samples[-24:], float(load)]

    async def _health_loop(self) -> None:
        watch = HealthWatch(self.internal_key)
        every = health_seconds()
        while True:
            await asyncio.sleep(every)
            replicas = [
                replica
                for deployment in list(self.deployments.values())
                for replica in deployment.active
                if replica.state == READY and replica.exited() is None
            ]
            for replica in await watch.failing(replicas):
                self.say(
                    f"replica {replica.label} missed {HEALTH_MISSES} health checks in a "
                    "row; killing it (it will be restarted)"
                )
                with contextlib.suppress(ProcessLookupError):
                    replica.process.kill()

    async def _autoscale_loop(self) -> None:
        while True:
            await asyncio.sleep(AUTOSCALE_SECONDS)
            for deployment in list(self.deployments.values()):
                self._autoscale(deployment)

    # --- reading the record -----------------------------------------------------------------
    async def reconcile(self) -> None:
        async with self._reconciling:
            await self._reconcile()

    async def _reconcile(self) -> None:
        record: EndpointRecord = await asyncio.to_thread(
            self.endpoints.get, self.workspace, self.name
        )
        settings_changed = (self.key_digests, self.auth_enabled, self.config) != (
            record.key_digests,
            record.auth_enabled,
            record.config,
        )
        self.key_digests = record.key_digests
        self.auth_enabled = record.auth_enabled
        self.config = record.config
        self.traffic = dict(record.traffic)
        wanted = {deployment.name: deployment for deployment in record.deployments}
        for name, wanted_deployment in wanted.items():
            deployment = self.deployments.setdefault(name, Deployment(name=name))
            if deployment.busy or wanted_deployment.generation <= deployment.generation:
                continue
            deployment.generation = wanted_deployment.generation
            spec = dict(wanted_deployment.spec)
            if deployment.active and spec_key(spec) == deployment.served_key:
                # same replicas as served: a revert after a failed update, or a no-op
                deployment.served = deployment.generation
                deployment.spec = spec
                deployment.state, deployment.error = HEALTHY, None
                continue
            deployment.busy = True
            deployment.state, deployment.error = TRANSITIONING, None
            self._spawn(self._rollout(deployment, deployment.generation, spec))
        for name in [name for name in self.deployments if name not in wanted]:
            gone = self.deployments.pop(name)
            self.say(f"deployment {name!r} was deleted; stopping its replicas")
            for replica in (*gone.active, *gone.starting):
                self._spawn(self._drain(replica))
        if settings_changed:
            self.tls.apply(record.config.get("tls"), self.say)
            for replica in self._replicas():
                self._send_settings(replica)
        self._check_direct()
        busy = any(deployment.busy for deployment in self.deployments.values())
        if not busy:
            self.revision_seen = record.revision
        await self.report()

    async def report(self) -> None:
        reports = [
            ReplicaReport(
                deployment=deployment.name,
                generation=deployment.generation,
                state=deployment.state,
                served_generation=deployment.served,
                error=deployment.error,
                replicas=deployment.records(),
            )
            for deployment in self.deployments.values()
        ]
        snapshot = (self.revision_seen, reports)
        if snapshot == self._last_report:
            return
        self._last_report = snapshot
        await asyncio.to_thread(
            self.reporting.report, self.workspace, self.name, self.revision_seen, reports
        )

    # --- rollouts -----------------------------------------------------------------------------
    async def _start_ready(
        self,
        deployment: Deployment,
        spec: dict[str, Any],
        generation: int,
        index: int,
        restarts: int,
    ) -> Replica:
        replica = start_replica(
            spec, deployment.name, index, generation, self.internal_key, self.log, restarts
        )
        deployment.starting.append(replica)
        if replica.channel is not None:
            asyncio.get_running_loop().add_reader(
                replica.channel.fileno(), self._on_channel, replica
            )
            self._send_settings(replica)
        try:
            await wait_ready(replica, float(spec.get("init_timeout_seconds") or 120), self.log_path)
        except BaseException:
            deployment.starting.remove(replica)
            await replica.stop(grace=2)
            raise
        deployment.starting.remove(replica)
        self.say(f"replica {replica.label} is ready")
        return replica

    async def _rollout(self, deployment: Deployment, generation: int, spec: dict[str, Any]) -> None:
        count = rollout_count(deployment, spec)
        self.say(
            f"rolling out deployment {deployment.name!r} generation {generation} "
            f"with {count} replica(s)"
        )
        results = await asyncio.gather(
            *(self._start_ready(deployment, spec, generation, i, 0) for i in range(count)),
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        started = [r for r in results if isinstance(r, Replica)]
        if errors:
            await asyncio.gather(*(replica.stop(grace=2) for replica in started))
            message = str(errors[0])
            serving = "the previous replicas keep serving" if deployment.active else "none serve"
            self.say(f"rollout of {deployment.name!r} generation {generation} failed ({serving})")
            deployment.state, deployment.error = FAILED, message
        else:
            old, deployment.active = deployment.active, started
            deployment.spec, deployment.served = spec, generation
            deployment.served_key = spec_key(spec)
            deployment.state, deployment.error = HEALTHY, None
            self.say(f"deployment {deployment.name!r} serves generation {generation}")
            for replica in old:
                self._spawn(self._drain(replica))
        deployment.busy = False
        with contextlib.suppress(AtelierError):
            await self.reconcile()

    async def _drain(self, replica: Replica) -> None:
        """Let the replica answer what it holds, then stop it."""
        deployment = self.deployments.get(replica.deployment)
        if deployment is not None and replica in deployment.active:
            deployment.active.remove(replica)
        if deployment is not None:
            deployment.draining.append(replica)
        replica.state = "Draining"
        deadline = time.monotonic() + 120
        if replica.channel is not None and replica.exited() is None:
            # its client connections come back here as they go idle, to be handed on
            replica.drained.clear()
            if send(replica.channel, DRAIN):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(replica.drained.wait(), 60)
        while replica.in_flight > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await replica.stop()
        if deployment is not None and replica in deployment.draining:
            deployment.draining.remove(replica)
        self.say(f"replica {replica.label} stopped")

    # --- failures and load ----------------------------------------------------------------------
    def _check_replicas(self, deployment: Deployment) -> None:
        for replica in list(deployment.active):
            code = replica.exited()
            if code is None or self._stopping:
                continue
            deployment.active.remove(replica)
            replica.release()
            self.say(f"replica {replica.label} exited with code {code}; restarting it")
            self._spawn(self._restart(deployment, replica))
        if not deployment.busy and deployment.served:
            deployment.state = HEALTHY if deployment.active else UNHEALTHY
            if deployment.state == HEALTHY and deployment.generation != deployment.served:
                deployment.state = FAILED  # the last rollout failed; its error stays

    async def _restart(self, deployment: Deployment, crashed: Replica) -> None:
        await crashed.client.aclose()
        backoff = 0.5
        restarts = crashed.restarts + 1
        while not self._stopping and self.deployments.get(deployment.name) is deployment:
            if crashed.generation != deployment.served:
                return  # a rollout replaced this generation meanwhile
            try:
                replica = await self._start_ready(
                    deployment, deployment.spec, deployment.served, crashed.index, restarts
                )
            except ReplicaStartError as exc:
                self.say(f"restart failed, retrying in {backoff:g} s: {str(exc)[:500]}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)
                restarts += 1
                continue
            if replica.generation == deployment.served:
                deployment.active.append(replica)
            else:
                await replica.stop(grace=2)
            return

    def _autoscale(self, deployment: Deployment) -> None:
        step = autoscale_step(deployment, time.monotonic())
        if step is None:
            return
        self.say(step.reason)
        if step.remove is not None:
            self._spawn(self._drain(step.remove))
        else:
            count = len(deployment.active) + len(deployment.starting)
            self._spawn(self._scale_up(deployment, count))

    async def _scale_up(self, deployment: Deployment, index: int) -> None:
        used = {replica.index for replica in (*deployment.active, *deployment.starting)}
        index = next(i for i in range(index + len(used) + 1) if i not in used)
        try:
            replica = await self._start_ready(
                deployment, deployment.spec, deployment.served, index, 0
            )
        except ReplicaStartError as exc:
            self.say(f"autoscale: the new replica failed: {str(exc)[:500]}")
            return
        if replica.generation == deployment.served and not deployment.busy:
            deployment.active.append(replica)
        else:
            await replica.stop(grace=2)

    # --- handing over connections ------------------------------------------------------------
    def _replicas(self) -> list[Replica]:
        return [
            replica
            for deployment in self.deployments.values()
            for replica in (*deployment.active, *deployment.starting)
        ]

    def _send_settings(self, replica: Replica) -> None:
        if replica.channel is None:
            return
        settings = {
            "key_digests": list(self.key_digests),
            "auth_enabled": self.auth_enabled,
            "deployment": replica.deployment,
            "max_body_bytes": self.config.get("max_body_bytes"),
        }
        send_settings(replica.channel, settings)

    def _on_channel(self, replica: Replica) -> None:
        channel = replica.channel
        if channel is None:
            return
        messages, closed = receive(channel)
        for message in messages:
            if message.op == RETURN and message.connection is not None:
                self.on_returned(message.connection)
            elif message.op == DRAINED:
                replica.drained.set()
            elif message.connection is not None:
                message.connection.close()
        if closed:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(channel.fileno())
            replica.drained.set()

    def direct_deployment(self) -> Deployment | None:
        """The deployment whose replicas take client connections themselves, if any
        (:func:`atelier.serving.traffic.direct_deployment`); none while TLS is on, since
        the router terminates it."""
        if self.tls.required:
            return None
        return direct_deployment(self.deployments, self.traffic)

    def hand_over(self, connection: socket.socket) -> bool:
        """Give a client connection to a ready replica, in turn; False if the router must
        keep it (several deployments, data collection, no ready replica)."""
        deployment = self.direct_deployment()
        if deployment is None:
            return False
        ready = [r for r in deployment.active if r.state == READY and r.channel is not None]
        for _ in range(len(ready)):
            self._turn += 1
            replica = ready[self._turn % len(ready)]
            if replica.channel is not None and send(replica.channel, ADOPT, fd=connection.fileno()):
                connection.close()
                return True
        return False

    def _check_direct(self) -> None:
        """When the router must take requests again, replicas give their connections back."""
        direct = self.direct_deployment() is not None
        if self._direct and not direct:
            self.say("the router takes every request now; replicas give their connections back")
            for replica in self._replicas():
                if replica.channel is not None:
                    send(replica.channel, DRAIN)
        self._direct = direct

    # --- routing ----------------------------------------------------------------------------------
    def route(self, requested: str | None, draw: float) -> tuple[Deployment | None, Replica | None]:
        """The deployment (by name, or by the traffic split with ``draw`` in [0, 1)) and
        its least busy ready replica."""
        return route(self.deployments, self.traffic, requested, draw)

    def ready(self) -> bool:
        return any(
            deployment.pick() is not None
            for name, deployment in self.deployments.items()
            if self.traffic.get(name)
        )

    def any_replica(self) -> Replica | None:
        for deployment in self.deployments.values():
            replica = deployment.pick()
            if replica is not None and replica.state == READY:
                return replica
        return None


def _close(connection: socket.socket) -> None:
    connection.close()
