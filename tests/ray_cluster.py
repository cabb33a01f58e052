"""A real Ray cluster on 127.0.0.1 for tests: a head and worker nodes started with `ray start`, each in its own
temporary directory, with few CPUs, a small object store and ports of its own (several clusters can share a
machine), and every process it started stopped by its PID at the end (never `ray stop`, which stops every Ray on
the machine).

A node's processes are the ones whose command line names the cluster's temporary directory that appeared with its
`ray start`, and their descendants (the raylet's workers and agents); `RayNode.kill()` SIGKILLs exactly those.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE_BYTES = 80 * 10**6  # about Ray's minimum: rows are small
ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # no token: Ray 2.60 turns token auth on where ~/.ray/auth_token exists (a local ray.init writes one), and a
    # node joining without it is refused; a test cluster on 127.0.0.1 needs none (drivers joining set this too)
    "RAY_AUTH_MODE": "disabled",
    # notice a killed node within seconds rather than half a minute
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "1000",
    "RAY_health_check_failure_threshold": "3",
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RayNode:
    """The processes one `ray start` left running."""

    name: str
    roots: set[int] = field(default_factory=set)

    def processes(self) -> list[psutil.Process]:
        found: dict[int, psutil.Process] = {}
        for pid in self.roots:
            try:
                root = psutil.Process(pid)
                found[pid] = root
                found.update({child.pid: child for child in root.children(recursive=True)})
            except psutil.NoSuchProcess:
                continue
        return list(found.values())

    def busy_workers(self) -> list[psutil.Process]:
        """Its worker processes running a task now (Ray titles them `ray::<function>` while they do)."""
        busy = []
        for process in self.processes():
            try:
                title = " ".join(process.cmdline())
            except psutil.Error:
                continue
            if title.startswith("ray::") and not title.startswith(("ray::IDLE", "ray::Dashboard", "ray::Runtime")):
                busy.append(process)
        return busy

    def kill(self) -> None:
        """SIGKILL every process of the node at once (a frozen first, so none finishes between two kills)."""
        processes = self.processes()
        for process in processes:
            try:
                process.send_signal(signal.SIGSTOP)
            except psutil.Error:
                pass
        for process in processes:
            try:
                process.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(processes, timeout=10)


class LocalRayCluster:
    """`with LocalRayCluster() as cluster: cluster.start_head(...); cluster.add_node(...)`; `cluster.address`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths must stay short
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes: list[RayNode] = []

    def __enter__(self) -> LocalRayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start_head(self, cpus: int = 1, resources: dict[str, float] | None = None) -> RayNode:
        return self._start("head", ["--head", "--port", str(self.port), "--include-dashboard", "false",
                                    "--dashboard-port", str(_free_port())], cpus, resources)

    def add_node(self, name: str, cpus: int = 1, resources: dict[str, float] | None = None) -> RayNode:
        return self._start(name, ["--address", self.address], cpus, resources)

    def _start(self, name: str, role: list[str], cpus: int, resources: dict[str, float] | None) -> RayNode:
        before = set(psutil.pids())
        ports = ["--node-manager-port", "--object-manager-port", "--dashboard-agent-listen-port",
                 "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port"]
        command = [str(RAY), "start", *role, "--node-ip-address", "127.0.0.1", "--num-cpus", str(cpus),
                   "--num-gpus", "0", "--object-store-memory", str(OBJECT_STORE_BYTES), "--temp-dir",
                   str(self.folder), "--disable-usage-stats", "--min-worker-port", "0", "--max-worker-port", "0",
                   *[part for flag in ports for part in (flag, str(_free_port()))]]
        if resources:
            command += ["--resources", json.dumps(resources)]
        node = RayNode(name)
        self.nodes.append(node)  # before it starts: a start that fails half-way is still stopped
        started = subprocess.run(command, env={**os.environ, **ENV}, capture_output=True, text=True, timeout=180)
        node.roots = {pid for pid in set(psutil.pids()) - before if self._ours(pid)}
        if started.returncode != 0:
            raise RuntimeError(f"ray start ({name}) failed: {started.stderr[-2000:]}")
        return node

    def _ours(self, pid: int) -> bool:
        try:
            return str(self.folder) in " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            return False

    def stop(self) -> None:
        """Every process of every node, worker nodes first, then the temporary directory."""
        for node in reversed(self.nodes):
            node.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(self._ours(pid) for pid in psutil.pids()):
            time.sleep(0.2)
        for pid in psutil.pids():  # anything of ours a node started after its roots were read
            if self._ours(pid):
                try:
                    psutil.Process(pid).kill()
                except psutil.Error:
                    pass
        shutil.rmtree(self.folder, ignore_errors=True)
