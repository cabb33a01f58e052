"""CSV and JSON download buttons, placed under every table; an analysis's are the CLI's report files."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from analyzers.records import Analysis

__all__ = ["analysis_downloads", "download_buttons"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "table"


def download_buttons(table: pd.DataFrame, stem: str, *, key: str) -> None:
    """Two small buttons side by side: the table as CSV and as JSON records (the file name is `stem`)."""
    stem = _slug(stem)
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "CSV",
            table.to_csv(index=False).encode("utf-8"),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
            width="content",
        )
        st.download_button(
            "JSON",
            table.to_json(orient="records", indent=2, force_ascii=False).encode("utf-8"),
            file_name=f"{stem}.json",
            mime="application/json",
            key=f"{key}_json",
            icon=":material/download:",
            width="content",
        )


def analysis_downloads(analysis: Analysis, stem: str, *, key: str) -> None:
    """The whole analysis, every record, as `report --csv` and `report --json` write it (`analyzers.reports.table`):
    the same columns and numbers whatever is open on the page. Written when clicked, not on every rerun (a
    3,600-layer analysis is megabytes)."""
    from analyzers.reports.table import to_csv, to_json

    stem = _slug(stem)
    rows = len(analysis.records)
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            f"CSV ({rows:,} rows)",
            lambda: to_csv(analysis).encode("utf-8"),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/download:",
            help="Every layer of the analysis in the CLI's report columns (`python -m explorer report … --csv`)",
            on_click="ignore",
        )
        st.download_button(
            "JSON (summary + layers)",
            lambda: (to_json(analysis) + "\n").encode("utf-8"),
            file_name=f"{stem}.json",
            mime="application/json",
            key=f"{key}_json",
            icon=":material/download:",
            help="The CLI's `report … --json` document: the summary and every layer",
            on_click="ignore",
        )
