"""Atelier's node provider for Ray's autoscaler: worker nodes of a Ray head started by
``provision`` (:mod:`atelier.execution.ray_provision`), launched as ``ray start --address``
processes on this machine.

Ray's monitor (started with the head by ``ray start --head --autoscaling-config``) loads
this class (``provider: {type: external, module: ...}``) and asks it for nodes within the
bounds of the autoscaling config: ``min_workers``/``max_workers``/``idle_timeout_minutes``
from ``AmlCompute``'s ``min_nodes``/``max_nodes``/``idle_seconds_before_scaledown``
(:func:`atelier.execution.ray_provision.autoscaling_config`). The monitor re-reads that file
on every update, so ``AmlCompute.update`` changes the bounds of a running cluster.

Each node's Ray processes carry the head's marker (stopping the head stops its nodes) and
one of their own (stopping a node stops only its processes). The nodes are kept in
``nodes.json`` in the target's state folder, so a restarted monitor finds them again. A
node reports its number as the ``NODE_ID_AS_RESOURCE`` resource: Ray's autoscaler then
tells apart the nodes that share the address 127.0.0.1 (``use_node_id_as_ip``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

from ray.autoscaler.node_provider import NodeProvider
from ray.autoscaler.tags import (
    NODE_KIND_HEAD,
    NODE_KIND_WORKER,
    STATUS_UP_TO_DATE,
    TAG_RAY_NODE_KIND,
    TAG_RAY_NODE_NAME,
    TAG_RAY_NODE_STATUS,
    TAG_RAY_USER_NODE_TYPE,
)

from atelier.execution.ray_provision import (
    HEAD_NODE_NUMBER,
    HEAD_NODE_TYPE,
    NODE_ID_RESOURCE,
    NODE_MARKER,
    _free_ports,
    _marked,
    stop_processes,
)

__all__ = ["LocalNodeProvider"]

_HEAD_ID = "head"
_WORKER_OBJECT_STORE_BYTES = 80 * 1024 * 1024


class LocalNodeProvider(NodeProvider):
    """Worker nodes as local ``ray start --address <head>`` processes (see the module)."""

    def __init__(self, provider_config: dict[str, Any], cluster_name: str) -> None:
        super().__init__(provider_config, cluster_name)
        self.gcs_address = str(provider_config["gcs_address"])
        self.state_dir = Path(provider_config["state_dir"])
        self.state_path = self.state_dir / "nodes.json"
        self.lock = threading.RLock()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.nodes: dict[str, dict[str, Any]] = {}
        self.next_number = HEAD_NODE_NUMBER + 1
        self._load()

    # --- state -------------------------------------------------------------------------

    def _load(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            saved = json.loads(self.state_path.read_text())
            self.next_number = max(self.next_number, int(saved.get("next_number") or 0))
            for node_id, node in dict(saved.get("nodes") or {}).items():
                if _marked(str(node.get("token") or ""), NODE_MARKER):
                    self.nodes[node_id] = node

    def _save(self) -> None:
        state = {"next_number": self.next_number, "nodes": self.nodes}
        part = self.state_path.with_suffix(".part")
        part.write_text(json.dumps(state, indent=2))
        part.replace(self.state_path)

    def _alive(self, node_id: str) -> bool:
        proc = self.procs.get(node_id)
        if proc is not None:
            return proc.poll() is None
        return bool(_marked(str(self.nodes[node_id].get("token") or ""), NODE_MARKER))

    # --- NodeProvider --------------------------------------------------------------------

    def non_terminated_nodes(self, tag_filters: dict[str, str]) -> list[str]:
        with self.lock:
            for node_id in [n for n in self.nodes if not self._alive(n)]:
                # its `ray start` ended on its own (e.g. Ray's start timeout on a loaded
                # machine): what it left is stopped; the autoscaler launches another
                self.terminate_node(node_id)
            found = [_HEAD_ID, *self.nodes]
            return [
                node_id
                for node_id in found
                if all(self.node_tags(node_id).get(k) == v for k, v in tag_filters.items())
            ]

    def is_running(self, node_id: str) -> bool:
        with self.lock:
            return node_id == _HEAD_ID or node_id in self.nodes

    def is_terminated(self, node_id: str) -> bool:
        return not self.is_running(node_id)

    def node_tags(self, node_id: str) -> dict[str, str]:
        with self.lock:
            if node_id == _HEAD_ID:
                return {
                    TAG_RAY_NODE_KIND: NODE_KIND_HEAD,
                    TAG_RAY_USER_NODE_TYPE: HEAD_NODE_TYPE,
                    TAG_RAY_NODE_NAME: _HEAD_ID,
                    TAG_RAY_NODE_STATUS: STATUS_UP_TO_DATE,
                }
            node = self.nodes.get(node_id)
            return dict(node["tags"]) if node else {}

    def set_node_tags(self, node_id: str, tags: dict[str, str]) -> None:
        with self.lock:
            if node_id in self.nodes:
                self.nodes[node_id]["tags"].update(tags)
                self._save()

    def internal_ip(self, node_id: str) -> str:
        """The node's number, as its ``NODE_ID_AS_RESOURCE`` says (``use_node_id_as_ip``)."""
        with self.lock:
            if node_id == _HEAD_ID:
                return str(HEAD_NODE_NUMBER)
            node = self.nodes.get(node_id)
            return str(node["number"]) if node else ""

    def external_ip(self, node_id: str) -> str:
        return self.internal_ip(node_id)

    def create_node(
        self, node_config: dict[str, Any], tags: dict[str, str], count: int
    ) -> dict[str, Any] | None:
        del node_config
        for _ in range(count):
            self._launch(tags, {})
        return None

    def create_node_with_resources_and_labels(
        self,
        node_config: dict[str, Any],
        tags: dict[str, str],
        count: int,
        resources: dict[str, float],
        labels: dict[str, str],
    ) -> dict[str, Any] | None:
        del node_config, labels
        for _ in range(count):
            self._launch(tags, resources)
        return None

    def terminate_node(self, node_id: str) -> dict[str, Any] | None:
        with self.lock:
            if node_id == _HEAD_ID or node_id not in self.nodes:
                return None
            node = self.nodes[node_id]
            own = self.procs.get(node_id)
            self._forget(node_id)
        # stopped aside: the autoscaler's loop does not wait for Ray's processes to end
        threading.Thread(
            target=stop_processes,
            args=(int(node["pid"]), str(node["token"]), str(node["temp_dir"])),
            kwargs={"own": own, "marker": NODE_MARKER},
            daemon=True,
        ).start()
        return None

    @staticmethod
    def bootstrap_config(cluster_config: dict[str, Any]) -> dict[str, Any]:
        return cluster_config

    # --- nodes ---------------------------------------------------------------------------

    def _forget(self, node_id: str) -> None:
        self.nodes.pop(node_id, None)
        proc = self.procs.pop(node_id, None)
        if proc is not None:
            proc.poll()  # reaped, not left a zombie
        self._save()

    def _launch(self, tags: dict[str, str], resources: dict[str, float]) -> None:
        with self.lock:
            number = self.next_number
            self.next_number += 1
            node_id = f"worker-{number}"
            token = uuid.uuid4().hex
            temp_dir = tempfile.mkdtemp(prefix="atelier-ray-", dir="/tmp")
            wanted = dict(resources)
            cpus = wanted.pop("CPU", 1)
            gpus = wanted.pop("GPU", 0)
            wanted.pop("memory", None)
            wanted.pop("object_store_memory", None)
            wanted[NODE_ID_RESOURCE] = number
            names = "node-manager object-manager dashboard-agent-listen dashboard-agent-grpc"
            names += " runtime-env-agent metrics-export"
            ports = dict(zip(names.split(), _free_ports(6), strict=True))
            command = [
                sys.executable, "-m", "ray.scripts.scripts", "start", "--block",
                "--address", self.gcs_address,
                "--node-ip-address", "127.0.0.1",
                "--num-cpus", str(int(cpus)),
                "--num-gpus", str(int(gpus)),
                "--resources", json.dumps(wanted),
                "--object-store-memory", str(_WORKER_OBJECT_STORE_BYTES),
                *(part for name, port in ports.items() for part in (f"--{name}-port", str(port))),
                "--temp-dir", temp_dir,
                "--disable-usage-stats",
            ]  # fmt: skip
            # the monitor's environment carries the head's marker: stopping the head
            # stops this node too; its own marker stops only this node
            env = {**os.environ, NODE_MARKER: token}
            log_path = self.state_dir / f"{node_id}.log"
            with log_path.open("ab") as log:
                proc = subprocess.Popen(
                    command,
                    cwd=self.state_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.procs[node_id] = proc
            self.nodes[node_id] = {
                "number": number,
                "pid": proc.pid,
                "token": token,
                "temp_dir": temp_dir,
                "log": str(log_path),
                "tags": {
                    **tags,
                    TAG_RAY_NODE_KIND: NODE_KIND_WORKER,
                    TAG_RAY_NODE_NAME: node_id,
                    # no updater runs here: the node starts Ray itself; the autoscaler
                    # waits AUTOSCALER_HEARTBEAT_TIMEOUT_S for it to join
                    TAG_RAY_NODE_STATUS: STATUS_UP_TO_DATE,
                },
            }
            self._save()
