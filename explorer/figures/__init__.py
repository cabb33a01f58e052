"""Plotly figure builders: pure functions from an analysis table (or a results table) to a `go.Figure`.

One concept per module; every figure uses the shared theme in `theme` so the app looks like one piece.
"""
