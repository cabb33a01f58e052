"""CSV and JSON download buttons, placed under every table."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st


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
