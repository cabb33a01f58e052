"""Design: write an architecture in the seeds' notation and see its cost at once.

The text is read by our spec parser only (`explorer.spec`): it is never executed, and the parser's limits cap
what a spec may ask for. Uploaded files are read the same way.
"""

from __future__ import annotations

import streamlit as st

from explorer.spec import EXAMPLES, SYNTAX_HELP
from explorer.ui.analysis_view import analysis_view
from explorer.ui.cached_analysis import analyze_spec_text
from explorer.ui.page_setup import escape_markdown, page_header, show_user_error, user_errors

SCOPE = "design"
TEXT_KEY = "design_text"
EXAMPLE_KEY = "design_example"
UPLOAD_KEY = "design_upload"
MAX_UPLOAD_BYTES = 100_000  # the parser's own text limit; a bigger file is refused before decoding


def _load_example() -> None:
    st.session_state[TEXT_KEY] = EXAMPLES[st.session_state[EXAMPLE_KEY]]


def _load_upload() -> None:
    """Put an uploaded .txt spec into the editor (as text: it is parsed like anything typed)."""
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        return
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        st.session_state["design_upload_error"] = (
            f"{escape_markdown(upload.name)} is {len(data):,} bytes; a spec may have at most {MAX_UPLOAD_BYTES:,}."
        )
        return
    try:
        st.session_state[TEXT_KEY] = data.decode("utf-8")
        st.session_state.pop("design_upload_error", None)
    except UnicodeDecodeError:
        st.session_state["design_upload_error"] = f"{escape_markdown(upload.name)} is not UTF-8 text."


page_header(
    "Design your own",
    "Describe a network line by line, as the notes write it (`conv 16 5x5`, `maxpool 2 s2`, `fc 120`); "
    "it is analysed as you edit. Nothing you type is run as code.",
)
if TEXT_KEY not in st.session_state:
    st.session_state[EXAMPLE_KEY] = next(iter(EXAMPLES))
    _load_example()

editor, side = st.columns([3, 2], gap="large")
with side:
    st.selectbox("Start from an example", list(EXAMPLES), key=EXAMPLE_KEY, on_change=_load_example)
    st.file_uploader("Load a spec (.txt)", type=["txt"], key=UPLOAD_KEY, on_change=_load_upload)
    if "design_upload_error" in st.session_state:
        st.error(st.session_state["design_upload_error"], icon=":material/error:")
    batch = st.number_input("Batch", min_value=1, max_value=4096, value=1, step=1, key="design_batch")
    with st.expander("Syntax", expanded=False):
        st.code(SYNTAX_HELP, language=None)
with editor:
    text = st.text_area("Spec", key=TEXT_KEY, height=420, help="Press Ctrl+Enter (or click outside) to analyse.")
    st.download_button(
        "Save spec (.txt)",
        text.encode("utf-8"),
        file_name="architecture.txt",
        mime="text/plain",
        key="design_save",
        icon=":material/download:",
    )

try:
    result = analyze_spec_text(text, int(batch))
except user_errors() as exc:
    show_user_error(exc)
    st.stop()

st.divider()
st.header(escape_markdown(result.analysis.model_name), anchor=False)
analysis_view(result, scope=SCOPE, file_stem=result.analysis.model_name)
