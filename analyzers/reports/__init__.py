"""An analysis as tables, summaries and files; cross-checks and gradient probes."""
