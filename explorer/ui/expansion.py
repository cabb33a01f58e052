"""Which blocks of the diagram (and rows of the table) are open, per analysis, in `st.session_state`.

A deep network is read block by block: the page opens at the deepest readable depth, and each block can then be
expanded or collapsed on its own (from the selected layer's panel), all opened to a chosen depth or closed at
once, or a layer found by name (selected, with the blocks that hold it opened).
"""

from __future__ import annotations

import streamlit as st

from analyzers.records import Analysis

from explorer.figures.layer_rows import ancestors
from explorer.figures.network_diagram import opened_to_depth
from explorer.ui.selection import select_layer

__all__ = ["close_all", "expanded_blocks", "expanded_key", "find_layer", "open_to_depth", "set_open"]


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


def open_to_depth(scope: str, key: str, analysis: Analysis) -> None:
    """Callback of the depth box: every block shallower than the chosen depth open, nothing else; the box then
    empties again (it is a command, not a state: single blocks open and close afterwards)."""
    depth = st.session_state.get(f"{scope}_depth")
    if depth is not None:
        st.session_state[expanded_key(scope, key)] = opened_to_depth(analysis, int(depth))
        st.session_state[f"{scope}_depth"] = None


def find_layer(scope: str, key: str) -> None:
    """Callback of the find box: select the layer and open every block that holds it."""
    name = st.session_state.get(f"{scope}_find")
    if not name:
        return
    state = expanded_key(scope, key)
    st.session_state[state] = frozenset({*st.session_state.get(state, ()), *ancestors(name)})
    select_layer(scope, name)
    st.session_state[f"{scope}_find"] = None


def close_all(scope: str, key: str) -> None:
    st.session_state[expanded_key(scope, key)] = frozenset()
