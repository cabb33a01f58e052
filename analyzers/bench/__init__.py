"""Timing real models: the harness, the training-step harness, the results file and its schema."""
