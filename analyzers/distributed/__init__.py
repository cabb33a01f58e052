"""Sweeps beyond one process: the atlas and the benchmark sweeps cut into keyed units of work, run on this machine's
worker processes or on a Ray cluster, with every row written by the driver through the one result-file writer.

- `work`: a unit (its key, its payload, the GPU kind it needs) and what comes back (`Outcome`);
- `executor`: where units run (`local` | `ray`); `local`: worker processes here; `ray_executor`: Ray tasks;
- `gpu_kinds`: scheduling by accelerator type and the device label a row carries;
- `progress`: the one bar on the driver (done, failed, retried);
- `sweep`: the driver loop (skip what is done, run the rest, write each row once).

Ray is imported only by `ray_executor`, and only when a command asks for `--executor ray`; this package's own
import is free (import the modules you need), so a command's `--help` pays for none of it.
"""

__all__: list[str] = []
