"""Design: write an architecture in the seeds' notation and see its cost.

The text is read by our spec parser only (`explorer.spec`): it is never executed, and the parser's limits cap
what a spec may ask for. Uploaded files are read the same way.

An upload is applied once, when a new file arrives (its `file_id` differs from the one applied last); its error
belongs to that file and goes with it. Choosing an example empties the uploader (a new widget key), so the same
file can be loaded again afterwards. A spec that fails keeps the last analysis that worked on the page, below the
error and labelled as the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from analyzers.errors import UserError
from explorer.spec import EXAMPLES, SYNTAX_HELP
from explorer.spec.limits import DEFAULT_LIMITS
from explorer.ui.analysis_view import analysis_view
from explorer.ui.cached_analysis import analyze_spec_text
from explorer.ui.model_picker import MAX_BATCH
from explorer.ui.page_setup import escape_markdown, page_header, show_user_error
from explorer.ui.whole_number import whole_number_input

SCOPE = "design"
TEXT_KEY = "design_text"
EXAMPLE_KEY = "design_example"
UPLOAD_KEY = "design_upload"  # + the uploader's generation: a new generation is an empty uploader
GENERATION_KEY = "design_upload_generation"
APPLIED_KEY = "design_upload_applied"  # the UploadOutcome of the file in the uploader
LAST_GOOD_KEY = "design_last_good"  # (text, batch) of the last spec that was analysed
MAX_UPLOAD_BYTES = DEFAULT_LIMITS.max_chars  # the parser's own text limit: a bigger file is refused before decoding
UPLOAD_LIMIT_TEXT = f"{MAX_UPLOAD_BYTES:,} bytes"


@dataclass(frozen=True)
class UploadOutcome:
    """What became of one uploaded file: loaded into the editor, or refused with a message (Markdown-escaped)."""

    file_id: str
    error: str | None


def upload_key() -> str:
    return f"{UPLOAD_KEY}_{st.session_state.get(GENERATION_KEY, 0)}"


def _load_example() -> None:
    st.session_state[TEXT_KEY] = EXAMPLES[st.session_state[EXAMPLE_KEY]]
    st.session_state[GENERATION_KEY] = st.session_state.get(GENERATION_KEY, 0) + 1  # empty the uploader
    st.session_state.pop(APPLIED_KEY, None)


def _apply_upload(upload) -> UploadOutcome:
    """Put an uploaded .txt spec into the editor (as text: it is parsed like anything typed), or say why not."""
    name = escape_markdown(upload.name)
    data = upload.getvalue()
    if len(data) > MAX_UPLOAD_BYTES:
        return UploadOutcome(upload.file_id, f"{name} is {len(data):,} bytes; a spec may have at most "
                             f"{UPLOAD_LIMIT_TEXT}.")  # fmt: skip
    try:
        st.session_state[TEXT_KEY] = data.decode("utf-8")
    except UnicodeDecodeError:
        return UploadOutcome(upload.file_id, f"{name} is not UTF-8 text.")
    return UploadOutcome(upload.file_id, None)


def _upload_outcome(upload) -> UploadOutcome | None:
    """The outcome of the file in the uploader, applying it if it is new; None when the uploader is empty."""
    if upload is None:
        st.session_state.pop(APPLIED_KEY, None)
        return None
    outcome = st.session_state.get(APPLIED_KEY)
    if outcome is None or outcome.file_id != upload.file_id:
        outcome = _apply_upload(upload)
        st.session_state[APPLIED_KEY] = outcome
    return outcome


page_header(
    "Design your own",
    "Describe a network line by line, as the notes write it (`conv 16 5x5`, `maxpool 2 s2`, `fc 120`); "
    "it is analysed when you press Ctrl+Enter or click outside the editor. Nothing you type is run as code.",
)
if TEXT_KEY not in st.session_state:
    st.session_state[EXAMPLE_KEY] = next(iter(EXAMPLES))
    _load_example()

editor, side = st.columns([3, 2], gap="large")
with side:
    st.selectbox("Start from an example", list(EXAMPLES), key=EXAMPLE_KEY, on_change=_load_example)
    upload = st.file_uploader(
        f"Load a spec (.txt, at most {UPLOAD_LIMIT_TEXT})",
        type=["txt"],
        key=upload_key(),
        max_upload_size=1,  # MB, the smallest the widget takes; the page refuses anything over the parser's limit
        help=f"A plain-text spec of at most {UPLOAD_LIMIT_TEXT} (the spec parser's limit), read into the editor.",
    )
    outcome = _upload_outcome(upload)  # before the editor is drawn: a loaded file becomes its text
    if outcome is not None and outcome.error is not None:
        st.error(outcome.error, icon=":material/error:")
    batch = whole_number_input("Batch", default=1, low=1, high=MAX_BATCH, key="design_batch",
                               help=f"Images per forward, 1 to {MAX_BATCH:,}")
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

if batch.problem:  # said where the numbers would be, never the numbers of another batch
    st.error(batch.problem + ". Nothing is analysed until it is.", icon=":material/error:")
    st.stop()
try:
    result = analyze_spec_text(text, batch.value)
    st.session_state[LAST_GOOD_KEY] = (text, batch.value)
    previous = False
except UserError as exc:
    show_user_error(exc)
    if LAST_GOOD_KEY not in st.session_state:
        st.stop()
    result = analyze_spec_text(*st.session_state[LAST_GOOD_KEY])  # cached, or analysed again if it was evicted
    previous = True

st.divider()
name = escape_markdown(result.analysis.model_name)
if previous:
    st.header(f"Previous analysis: {name}", anchor=False)
    st.info("The spec above has an error, so this is the last spec that worked. Fix the error to update it.",
            icon=":material/history:")  # fmt: skip
else:
    st.header(name, anchor=False)
analysis_view(result, scope=SCOPE, file_stem=result.analysis.model_name)
