"""One training step on meta: backward costs, step memory, freezing."""
