"""Which blocks of the diagram (and rows of the table) are open, per analysis, in `st.session_state`.

A deep network is read block by block: the page opens at the deepest readable depth, and each block can then be
expanded or collapsed on its own (from the selected layer's panel), or all at once.
"""

from __future__ import annotations

import streamlit as st

from analyzers.records import Analysis

from explorer.figures.layer_rows import ancestors
from explorer.figures.network_diagram import containers, opened_to_depth


def expanded_key(scope: str, key: str) -> str:
    return f"{scope}_{key}_expanded"


def expanded_blocks(scope: str, key: str, analysis: Analysis, default_depth: int) -> frozenset[str]:
    """The open blocks of this analysis (first time: every block shallower than `default_depth`)."""
    state = expanded_key(scope, key)
    if state not in st.session_state:
        st.session_state[state] = opened_to_depth(analysis, default_depth)
    return frozenset(st.session_state[state])


def set_open(scope: str, key: str, block: str, is_open: bool) -> None:
    """Open `block` (and the blocks around it, so it shows) or close it (and what is inside it)."""
    state = expanded_key(scope, key)
    current = set(st.session_state.get(state, ()))
    if is_open:
        current |= {block, *ancestors(block)}
    else:
        current = {name for name in current if name != block and not name.startswith(block + ".")}
    st.session_state[state] = frozenset(current)


def open_all(scope: str, key: str, analysis: Analysis) -> None:
    st.session_state[expanded_key(scope, key)] = frozenset(containers(analysis))


def close_all(scope: str, key: str) -> None:
    st.session_state[expanded_key(scope, key)] = frozenset()
