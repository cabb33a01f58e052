"""The explorer's entry point: `streamlit run app.py`. Routing only; each page lives in `explorer/pages/`."""

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).parent / "explorer" / "pages"

st.set_page_config(page_title="CNN cost explorer", page_icon="🧮", layout="wide")

pages = [
    st.Page(PAGES_DIR / "architecture.py", title="Architecture", icon=":material/account_tree:", default=True),
    st.Page(PAGES_DIR / "compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page(PAGES_DIR / "arithmetic.py", title="Arithmetic", icon=":material/calculate:"),
    st.Page(PAGES_DIR / "scaling.py", title="Scaling", icon=":material/open_in_full:"),
    st.Page(PAGES_DIR / "transfer.py", title="Transfer", icon=":material/move_down:"),
    st.Page(PAGES_DIR / "gradients.py", title="Gradients", icon=":material/trending_down:"),
    st.Page(PAGES_DIR / "design.py", title="Design", icon=":material/edit_note:"),
    st.Page(PAGES_DIR / "benchmarks.py", title="Benchmarks", icon=":material/speed:"),
    st.Page(PAGES_DIR / "catalogue.py", title="Catalogue", icon=":material/grid_view:"),
]
st.navigation(pages, position="top").run()
