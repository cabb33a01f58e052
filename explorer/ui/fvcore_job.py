"""fvcore's count of a zoo or library model (`timm:NAME`, `torchvision:NAME`), run in a child process with a time limit and a memory limit.

fvcore needs real weights and a real forward, which on a large input can take minutes and gigabytes: in the
server's own process that could stall every session or end in an allocation failure. The child gets an
address-space limit (`RLIMIT_AS`: what it had after importing torch, plus the budget), a CPU-time limit, and
the parent a wall-clock timeout; whatever goes wrong comes back as one line in a `CrossCheckFailed`.

Child: `python -m explorer.ui.fvcore_job '{"name": …, "input_size": […], "batch_size": …, "options": {…},
"memory_bytes": …}'` prints `{"by_operator": {…}}` or `{"error": "…"}` on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzers.errors import UserError, first_line

__all__ = ["CrossCheckFailed", "FvcoreJob", "MEMORY_HEADROOM_BYTES", "ROOT", "TIMEOUT_S", "run_fvcore_job"]

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120.0
MEMORY_HEADROOM_BYTES = 1 << 30  # fvcore's trace, the zeroed copy of the weights, the allocator's slack


class CrossCheckFailed(UserError):
    """The child ran out of time or memory, or fvcore failed: the message says which."""


@dataclass(frozen=True)
class FvcoreJob:
    name: str
    input_size: tuple[int, ...]
    batch_size: int
    options: dict[str, Any] = field(default_factory=dict)
    memory_bytes: int = 1 << 30  # the analysis's bound on weights + activations

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "input_size": list(self.input_size), "batch_size": self.batch_size,
                           "options": self.options, "memory_bytes": self.memory_bytes})  # fmt: skip


def run_fvcore_job(job: FvcoreJob, *, timeout_s: float = TIMEOUT_S) -> dict[str, int]:
    """fvcore's count per operator for `job`, from a bounded child process; raises CrossCheckFailed."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "explorer.ui.fvcore_job", job.to_json()],
            capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, env=env,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise CrossCheckFailed(f"fvcore took longer than {timeout_s:.0f} s and was stopped; try a smaller input or "
                               "batch.") from None  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        if done.returncode < 0:
            raise CrossCheckFailed(f"fvcore was stopped by signal {-done.returncode} (its time or memory limit); "
                                   "try a smaller input or batch.")  # fmt: skip
        detail = first_line(RuntimeError(done.stderr.strip().splitlines()[-1])) if done.stderr.strip() else "no output"
        raise CrossCheckFailed(f"fvcore failed: {detail}")
    answer = json.loads(lines[-1])
    if "error" in answer:
        raise CrossCheckFailed(f"fvcore failed: {answer['error']}")
    return {str(k): int(v) for k, v in answer["by_operator"].items()}


def _address_space_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit_self(memory_bytes: int, cpu_seconds: int) -> None:
    import resource

    limit = _address_space_bytes() + memory_bytes + MEMORY_HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))


def _child(argument: str) -> dict[str, Any]:
    request = json.loads(argument)
    import torch  # noqa: F401  (imported before the limit: its libraries map gigabytes of address space)
    import fvcore.nn  # noqa: F401

    from analyzers.reports.crosscheck import fvcore_by_operator
    from explorer.catalogue import build
    from explorer.zoo import build_model

    name = request["name"]
    module = build(name).module if ":" in name else None  # a library's own name, never code a user typed
    _limit_self(int(request["memory_bytes"]), int(TIMEOUT_S))
    try:
        if module is None:
            module = build_model(name, device="meta", **request["options"]).module
        counts = fvcore_by_operator(module, tuple(request["input_size"]), int(request["batch_size"]))
    except MemoryError:
        return {"error": "out of memory (the run exceeded its memory limit)"}
    except Exception as exc:  # noqa: BLE001 - any failure of the real run is reported, never a traceback
        message = first_line(exc)
        if "can't allocate memory" in message or "alloc" in message.lower():
            message = "out of memory (the run exceeded its memory limit): " + message
        return {"error": message}
    return {"by_operator": counts}


if __name__ == "__main__":
    print(json.dumps(_child(sys.argv[1])), flush=True)
