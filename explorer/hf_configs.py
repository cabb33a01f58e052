"""A folder of Hugging Face `config.json` files as an atlas catalogue: `atlas hf --configs DIR`.

Every `config.json` under the folder is one row, named by its path inside the folder. Each is built on the meta
device from the config alone (`explorer.catalogue`'s `hf:`, never weights, never the network) and analysed at the
sequence length asked for. A config can ask for anything (a million layers, ten thousand experts), so before it
is built its size is estimated from the config's own numbers and refused over the one CPU work budget
(`analyzers.budget`), and again from the module count of what was built, before the analysis; the atlas's time
limit bounds the rest. A malformed config (not JSON, no `model_type`, an architecture transformers does not know)
is an error row with its reason, like any model that fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from analyzers.budget import refuse_over_budget
from analyzers.errors import UserError
from analyzers.user_files import read_text

__all__ = ["CONFIG_NAME", "MAX_CONFIG_BYTES", "check_built_size", "check_config_size", "config_refs"]

CONFIG_NAME = "config.json"
MAX_CONFIG_BYTES = 1 * 2**20  # real configs are a few KiB; a larger file is not one
# Python memory of building and analysing on meta, measured with tracemalloc on BERT configs (12 → 32 layers:
# 0.11 MiB per encoder layer of 18 modules, ~6 KiB per module), rounded up for the analysis records of wider blocks.
BYTES_PER_BLOCK = 256 * 2**10
BYTES_PER_MODULE = 16 * 2**10
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "n_layers", "num_layers", "num_decoder_layers", "encoder_layers",
               "decoder_layers")
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")


def config_refs(folder: Path) -> dict[str, str]:
    """Every config.json under `folder` (sorted): its path inside the folder → what `catalogue.build` takes."""
    folder = Path(folder).expanduser()
    try:
        is_folder = folder.is_dir()
    except OSError as exc:  # a name the system refuses (too long, a loop of links)
        raise UserError(f"--configs {folder}: {exc.strerror or exc}") from None
    if not is_folder:
        raise UserError(f"--configs {folder}: not a folder; give a folder with {CONFIG_NAME} files under it")
    root = folder.resolve()
    refs = {path.relative_to(root).as_posix(): f"hf:{path}" for path in sorted(root.rglob(CONFIG_NAME))}
    if not refs:
        raise UserError(f"--configs {folder}: no {CONFIG_NAME} under it")
    return refs


def check_config_size(path: Path, name: str) -> None:
    """Refuse a config file that is not a bounded regular file, or whose layers and experts would take more than
    the CPU work budget to build and analyse (`OverBudgetError`, one line)."""
    values = _json_object(read_text(path, f"a transformers {CONFIG_NAME}", limit_bytes=MAX_CONFIG_BYTES))
    if values is None:
        return  # not a JSON object: the builder names the problem
    blocks = sum(_blocks(values))
    refuse_over_budget(blocks * BYTES_PER_BLOCK, f"{name} ({blocks:,} transformer blocks and experts)",
                       "a smaller config fits")


def check_built_size(module: Any, name: str) -> None:
    """Refuse, before the analysis, a model whose module count would take more than the budget to analyse."""
    modules = sum(1 for _ in module.modules())
    refuse_over_budget(modules * BYTES_PER_MODULE, f"analysing {name} ({modules:,} modules)", "a smaller config fits")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        values = json.loads(text)
    except ValueError:
        return None
    return values if isinstance(values, dict) else None


def _blocks(values: dict[str, Any]) -> Iterator[int]:
    """The layer counts of a config and of its nested configs (text_config, vision_config…), each times its
    experts."""
    experts = max([_count(values.get(key)) for key in _EXPERT_KEYS] + [0])
    for key in _LAYER_KEYS:
        yield _count(values.get(key)) * (1 + experts)
    for value in values.values():
        if isinstance(value, dict):
            yield from _blocks(value)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
