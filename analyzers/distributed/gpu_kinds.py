"""GPU kinds: which accelerator a unit must run on, how Ray names it, and how a row says where it ran.

Ray gives every node with NVIDIA GPUs a resource `accelerator_type:<KIND>` (H100, A100, L4…, from the GPU's name),
and a task that asks for a sliver of it runs only on such a node; that is the whole of scheduling by kind. A CPU-only
node can declare the same resource (`ray start --resources '{"accelerator_type:H100": 1}'`), which is how the tests
stand a GPU kind up without a GPU.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

from analyzers.errors import UserError

__all__ = ["KIND_PREFIX", "device_label", "kind_resource", "kinds_in", "names_kind", "parse_gpu_kinds"]

KIND_PREFIX = "accelerator_type:"
_KIND = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}")
_SLIVER = 0.001  # what Ray itself asks of the resource for `accelerator_type=`: any node of the kind, no count


def parse_gpu_kinds(text: str) -> tuple[str, ...]:
    """'H100,H200,L4' → ('H100', 'H200', 'L4'); a UserError for an empty or malformed kind."""
    kinds = tuple(dict.fromkeys(part.strip() for part in text.split(",")))
    bad = [kind for kind in kinds if not _KIND.fullmatch(kind)]
    if not kinds or bad:
        raise UserError(f"--gpu-kinds {text!r}: expected accelerator types separated by commas, as Ray names them "
                        "(e.g. H100,H200,L4,A100)")
    return kinds


def kind_resource(kind: str) -> dict[str, float]:
    """The custom resource a task asks for to run on a node of `kind`."""
    return {KIND_PREFIX + kind: _SLIVER}


def kinds_in(resources: Iterable[Mapping[str, float]]) -> set[str]:
    """The GPU kinds the nodes with these resources offer."""
    return {name.removeprefix(KIND_PREFIX) for node in resources for name in node if name.startswith(KIND_PREFIX)}


def names_kind(device_name: str, kind: str) -> bool:
    """Whether a device's reported name says its kind: "NVIDIA H100 80GB HBM3" is an H100 (not an H1000)."""
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(kind)}(?![0-9])", device_name, re.IGNORECASE) is not None


def device_label(device_name: str, kind: str | None) -> str:
    """The device a row ran on: its reported name, with the node's kind added where the name does not say it (a
    CPU benchmarked on an H100 node, or a kind a CPU-only node declares)."""
    if kind is None or names_kind(device_name, kind):
        return device_name
    return f"{device_name} [{kind} node]"
