"""The command line, one module per command (`listing`, `summary`, `report`, `atlas`, `bench`, `gradients`,
`ensemble`; `training` adds `--train` to summary and report); `program` assembles them and runs `main`."""

from explorer.cli.program import main

__all__ = ["main"]
