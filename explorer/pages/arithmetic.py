"""Arithmetic: the seeds' conv-layer calculator, every number checked live against the analyzer."""

from __future__ import annotations

import streamlit as st

from explorer.conv_arithmetic import (
    COMPARISONS,
    PRESETS,
    Comparison,
    ConvLayer,
    Design,
    LayerArithmeticError,
    LayerKind,
    PaddingMode,
    resolve_padding,
    separable_cost_ratio,
)
from explorer.figures.shape_text import hwc
from explorer.ui.conv_check import Check, check_design, check_layer
from explorer.ui.human import exact
from explorer.ui.page_setup import page_header
from explorer.ui.whole_number import parse_whole_number

CUSTOM = "Custom"
NUMBER_FIELDS = {"n": 4096, "n_c": 8192, "f": 512, "stride": 512, "padding": 512, "filters": 8192, "groups": 8192}


def _number(column, label: str, field: str, *, low: int = 1, disabled: bool = False) -> int:
    """A whole-number field of the calculator, read exactly; an entry it cannot use raises the one-line error the
    page shows in place of a result (never a number rounded, clipped or put back)."""
    high = NUMBER_FIELDS[field]
    text = column.text_input(label, key=_key(field), on_change=_to_custom, disabled=disabled,
                             help=f"A whole number, {low:,} to {high:,}")
    entry = parse_whole_number(label.split(" (")[0], text, low, high)
    if entry.problem:
        raise LayerArithmeticError(entry.problem)
    return entry.value


def _key(field: str) -> str:
    return f"arith_{field}"


def _load_preset() -> None:
    """Fill the calculator's widgets from the chosen seed example (a callback: runs before the widgets)."""
    title = st.session_state[_key("preset")]
    preset = next((p for p in PRESETS if p.title == title), None)
    if preset is None:
        return
    layer = preset.layer
    values = {
        "kind": layer.kind.value,
        "n": layer.n,
        "n_c": layer.n_c,
        "f": layer.f,
        "stride": layer.stride,
        "padding_mode": preset.padding_mode.value,
        "padding": layer.padding,
        "filters": layer.filters,
        "depthwise": layer.is_depthwise,
        "groups": layer.groups,
        "bias": layer.bias,
    }
    for field, value in values.items():  # numbers go into text fields (read exactly, see `whole_number`)
        st.session_state[_key(field)] = str(value) if field in NUMBER_FIELDS else value


def _to_custom() -> None:
    """Editing any field leaves the seed example: the picker says so."""
    st.session_state[_key("preset")] = CUSTOM


def _inputs() -> ConvLayer:
    """The calculator's controls; raises LayerArithmeticError for a layer that cannot exist."""
    # required: a click on the chosen option keeps it (otherwise nothing would look chosen while conv is computed)
    kind_value = st.segmented_control("Layer", [k.value for k in LayerKind], key=_key("kind"), on_change=_to_custom,
                                      required=True)  # fmt: skip
    kind = LayerKind(kind_value or LayerKind.CONV.value)
    a, b, c = st.columns(3)
    n = _number(a, "n (input height = width)", "n")
    n_c = _number(b, "n_c (input channels)", "n_c")
    f = _number(c, "f (kernel size)", "f")
    conv = kind is LayerKind.CONV
    depthwise = bool(st.session_state.get(_key("depthwise"))) and conv
    a, b, c = st.columns(3)
    stride = _number(a, "s (stride)", "stride")
    filters = _number(b, "n_c' (filters)", "filters", disabled=not conv or depthwise)
    groups = _number(c, "groups", "groups", disabled=not conv or depthwise)
    a, b = st.columns([2, 1])
    mode = PaddingMode(
        a.segmented_control("Padding", [m.value for m in PaddingMode], key=_key("padding_mode"), on_change=_to_custom,
                            required=True)
        or PaddingMode.VALID.value
    )
    if mode is PaddingMode.NUMBER:
        number = _number(b, "p (padding)", "padding", low=0)
        padding = resolve_padding(mode, int(f), int(number))
    else:
        padding = resolve_padding(mode, int(f))
        b.caption("p (padding)")
        b.markdown(f"p = **{padding}**" + (" = (f − 1)/2" if mode is PaddingMode.SAME else ""))
    a, b = st.columns(2)
    a.toggle("Depthwise (groups = n_c' = n_c)", key=_key("depthwise"), disabled=not conv, on_change=_to_custom)
    bias = b.toggle("Bias (+1 per filter)", key=_key("bias"), disabled=not conv, on_change=_to_custom)
    if depthwise:
        filters = groups = n_c
    return ConvLayer(
        n=int(n),
        n_c=int(n_c),
        f=int(f),
        filters=int(filters),
        stride=int(stride),
        padding=padding,
        groups=int(groups),
        bias=bool(bias),
        kind=kind,
    )


def _agreement(check: Check, params: int, macs: int, output: tuple[int, ...]) -> None:
    if check.error:
        st.warning(f"PyTorch refuses this layer: {check.error}", icon=":material/warning:")
    elif check.agrees_with(params, macs, output):
        st.success(
            f"Agrees with the analyzer running `{check.module_text}` on the meta device: "
            f"{exact(check.params or 0)} params, {exact(check.macs or 0)} MACs.",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"The analyzer counts {exact(check.params or 0)} params and {exact(check.macs or 0)} MACs "
            f"(output {check.output}) for `{check.module_text}`.",
            icon=":material/cancel:",
        )


def _results(layer: ConvLayer) -> None:
    out = layer.out_n
    cols = st.columns(3)
    cols[0].metric("Output volume", hwc((1, layer.out_channels, out, out)), border=True)
    cols[1].metric("Parameters", exact(layer.params), border=True)
    cols[2].metric("MACs", exact(layer.macs), border=True)
    st.markdown(
        f"- **Output size** `⌊(n + 2p − f)/s⌋ + 1` = `{layer.output_size_formula}`\n"
        f"- **Parameters** `(f·f·n_c/groups + bias)·n_c'` = `{layer.params_formula}`\n"
        f"- **MACs** `n_out·n_out·n_c' × f·f·n_c/groups` = `{layer.macs_formula}`"
    )
    _agreement(check_layer(layer), layer.params, layer.macs, (layer.out_channels, out, out))


def _design_column(design: Design) -> None:
    st.markdown(f"**{design.label}**")
    for layer in design.layers:
        st.markdown(f"- {layer.shape_text} (f = {layer.f}, groups = {layer.groups}): `{layer.macs_formula}`")
    st.metric("MACs", exact(design.macs), border=True)
    last = design.layers[-1]
    _agreement(check_design(design), design.params, design.macs, (last.out_channels, last.out_n, last.out_n))


def _comparison(comparison: Comparison) -> None:
    st.markdown(f"#### {comparison.title}")
    st.caption(comparison.explanation)
    left, right = st.columns(2)
    with left:
        _design_column(comparison.baseline)
    with right:
        _design_column(comparison.alternative)
    ratio = f"{exact(comparison.alternative.macs)} / {exact(comparison.baseline.macs)} = {comparison.ratio:.3f}"
    pointwise = comparison.alternative.layers[-1]
    depthwise = comparison.alternative.layers[0]
    if depthwise.is_depthwise:
        predicted = separable_cost_ratio(pointwise.filters, depthwise.f)
        st.info(
            f"Cost ratio {ratio}; MobileNet's rule 1/n_c' + 1/f² = 1/{pointwise.filters} + 1/{depthwise.f}² = {predicted:.3f}",
            icon=":material/percent:",
        )
    else:
        st.info(f"Cost ratio {ratio}: about {1 / comparison.ratio:.1f}× cheaper.", icon=":material/percent:")


page_header(
    "Conv arithmetic",
    "The seeds' formulas with the numbers written out, checked live against our counter running the real PyTorch layer.",
)
if _key("preset") not in st.session_state:
    st.session_state[_key("preset")] = PRESETS[0].title
    _load_preset()

st.selectbox(
    "Start from a seed example", [*(p.title for p in PRESETS), CUSTOM], key=_key("preset"), on_change=_load_preset
)
preset = next((p for p in PRESETS if p.title == st.session_state[_key("preset")]), None)
if preset is not None:
    st.caption(preset.explanation)

controls, results = st.columns([5, 6], gap="large")
with controls:
    try:
        layer = _inputs()
    except LayerArithmeticError as exc:
        layer = None
        st.error(str(exc), icon=":material/error:")
with results:
    if layer is not None:
        _results(layer)

st.divider()
st.subheader("The seeds' comparisons")
for comparison in COMPARISONS:
    _comparison(comparison)
