"""Streamlit pieces shared by the pages: cached analysis, model picker, metrics, tables and downloads."""
