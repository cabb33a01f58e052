"""Scaling: the papers' rules of thumb against counted cost — EfficientNet's φ, its depth, width and resolution one
at a time (against d·w²·r², with the notes' presets), and MobileNet's α and ρ."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analyzers.errors import UserError
from explorer.figures.scaling import compound_scaling, knob_scaling, resolution_scaling, width_scaling
from explorer.ui.cached_analysis import ModelRequest, analyze_model
from explorer.ui.downloads import download_buttons
from explorer.ui.human import compact, exact
from explorer.ui.page_setup import page_header, show_user_error
from explorer.ui.plotly_chart import show_figure
from explorer.zoo.efficientnet import (
    BASE_RESOLUTION,
    DEPTH_COEFFICIENT,
    NOTES_PRESETS,
    RESOLUTION_COEFFICIENT,
    WIDTH_COEFFICIENT,
    KnobSetting,
    Scaling,
)

PHI_CURVE = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0)
ALPHAS = (0.25, 0.5, 0.75, 1.0)  # MobileNet v1, Table 6
RESOLUTIONS = (128, 160, 192, 224)  # MobileNet v1, Table 7
COMPOUND = DEPTH_COEFFICIENT * WIDTH_COEFFICIENT**2 * RESOLUTION_COEFFICIENT**2  # α·β²·γ² ≈ 1.92


def efficientnet_macs(phi: float) -> int:
    options = {"phi": phi} if phi else {}
    scaling = Scaling.compound(phi)
    request = ModelRequest.of("efficientnet", (3, scaling.resolution, scaling.resolution), **options)
    return analyze_model(request).analysis.totals.macs


def mobilenet_macs(alpha: float, resolution: int) -> int:
    options = {"width_mult": alpha} if alpha != 1.0 else {}
    return analyze_model(ModelRequest.of("mobilenet_v1", (3, resolution, resolution), **options)).analysis.totals.macs


def compound_table(phis: list[float]) -> pd.DataFrame:
    base = efficientnet_macs(0.0)
    return pd.DataFrame(
        {
            "phi": phis,
            "resolution": [Scaling.compound(p).resolution for p in phis],
            "counted_macs": [efficientnet_macs(p) for p in phis],
            "predicted_macs": [base * 2**p for p in phis],
            "rule_macs": [base * COMPOUND**p for p in phis],
        }
    )


def _efficientnet_section() -> None:
    st.subheader("EfficientNet: compound scaling")
    st.caption(
        "Scale B0's depth by α^φ, width by β^φ and resolution by γ^φ (α = 1.2, β = 1.1, γ = 1.15, Tan & Le 2019). "
        "Cost grows with depth × width² × resolution², and α·β²·γ² ≈ 2, so each step of φ about doubles the MACs."
    )
    phi = st.slider("φ (compound coefficient)", 0.0, 7.0, 1.0, 0.5, key="scaling_phi")
    scaling = Scaling.compound(phi)
    table = compound_table(sorted({*PHI_CURVE, phi}))
    current = table[table["phi"] == phi].iloc[0]
    cols = st.columns(5)
    cols[0].metric("depth × α^φ", f"{scaling.depth_mult:.2f}", border=True)
    cols[1].metric("width × β^φ", f"{scaling.width_mult:.2f}", border=True)
    cols[2].metric(
        "resolution",
        f"{scaling.resolution}×{scaling.resolution}",
        f"× {RESOLUTION_COEFFICIENT**phi:.2f}",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    cols[3].metric("predicted 2^φ × B0", compact(current["predicted_macs"]), border=True)
    ratio = current["counted_macs"] / current["predicted_macs"]
    cols[4].metric(
        "counted MACs",
        compact(current["counted_macs"]),
        f"{ratio:.2f} × predicted",
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    show_figure(compound_scaling(table, current_phi=phi), key="scaling_phi_chart")
    download_buttons(table, "efficientnet_compound_scaling", key="scaling_phi_download")


def knob_totals(setting: KnobSetting) -> tuple[int, int]:
    """(MACs, params) of B0 scaled by the setting's depth, width and resolution, each alone."""
    options = {k: v for k, v in (("depth_mult", setting.depth_mult), ("width_mult", setting.width_mult)) if v != 1.0}
    size = (3, setting.resolution, setting.resolution)
    totals = analyze_model(ModelRequest.of("efficientnet", size, **options)).analysis.totals
    return totals.macs, totals.params


def knob_table(settings: list[KnobSetting]) -> pd.DataFrame:
    """Counted against predicted cost factors over B0: MACs ∝ d·w²·r², params ∝ d·w² (resolution adds none)."""
    base_macs, base_params = knob_totals(NOTES_PRESETS[0])
    counted = [knob_totals(s) for s in settings]
    return pd.DataFrame(
        {
            "setting": [s.label for s in settings],
            "depth_mult": [s.depth_mult for s in settings],
            "width_mult": [s.width_mult for s in settings],
            "resolution": [s.resolution for s in settings],
            "predicted_macs_factor": [s.predicted_macs_factor() for s in settings],
            "counted_macs_factor": [macs / base_macs for macs, _ in counted],
            "predicted_params_factor": [s.depth_mult * s.width_mult**2 for s in settings],
            "counted_params_factor": [params / base_params for _, params in counted],
            "counted_macs": [macs for macs, _ in counted],
            "counted_params": [params for _, params in counted],
        }
    )


_PRESETS_BY_LABEL = {preset.label: preset for preset in NOTES_PRESETS}


def _apply_preset() -> None:
    preset = _PRESETS_BY_LABEL[st.session_state["scaling_knob_preset"]]
    st.session_state["scaling_depth"] = preset.depth_mult
    st.session_state["scaling_width"] = preset.width_mult
    st.session_state["scaling_knob_resolution"] = preset.resolution


def _knob_section() -> None:
    st.subheader("EfficientNet: one dimension at a time")
    st.caption(
        "Move depth, width and resolution separately. Tan & Le (§3.3): a ConvNet's cost grows as d·w²·r², so "
        "doubling the depth doubles the MACs while doubling the width or the resolution quadruples them; the "
        "parameters grow as d·w² and not at all with resolution. The presets are the notes' questions: double the "
        "resolution, double the depth, or raise resolution 10 %, depth 50 % and width 20 %. Block counts round up "
        "and channels round to multiples of 8, so the counted factor can sit well off the rule."
    )
    for key, value in (("scaling_depth", 1.0), ("scaling_width", 1.0), ("scaling_knob_resolution", BASE_RESOLUTION)):
        st.session_state.setdefault(key, value)
    st.selectbox("preset", list(_PRESETS_BY_LABEL), key="scaling_knob_preset", on_change=_apply_preset)
    left, middle, right = st.columns(3)
    depth = left.slider("depth multiplier d", 0.5, 4.0, step=0.1, key="scaling_depth")
    width = middle.slider("width multiplier w", 0.5, 2.0, step=0.05, key="scaling_width")
    resolution = right.slider("resolution (pixels)", 112, 672, step=2, key="scaling_knob_resolution")
    current = KnobSetting("current setting", float(depth), float(width), int(resolution))
    table = knob_table([*NOTES_PRESETS, current])
    row = table.iloc[-1]
    cols = st.columns(4)
    cols[0].metric("predicted d·w²·r²", f"× {row['predicted_macs_factor']:.2f}", border=True)
    cols[1].metric("MACs counted", compact(row["counted_macs"]), f"× {row['counted_macs_factor']:.2f} B0",
                   delta_color="off", delta_arrow="off", border=True)
    cols[2].metric("predicted params d·w²", f"× {row['predicted_params_factor']:.2f}", border=True)
    cols[3].metric("params counted", compact(row["counted_params"]), f"× {row['counted_params_factor']:.2f} B0",
                   delta_color="off", delta_arrow="off", border=True)
    show_figure(knob_scaling(table, current="current setting"), key="scaling_knob_chart")
    download_buttons(table, "efficientnet_one_knob_scaling", key="scaling_knob_download")


def _mobilenet_section() -> None:
    st.subheader("MobileNet v1: width α and resolution ρ")
    st.caption(
        "The width multiplier α thins every layer and the resolution multiplier ρ shrinks the input; almost all the "
        "cost is 1×1 convolutions, so MACs scale as α²ρ² (Howard et al. 2017, Tables 6–7)."
    )
    left, right = st.columns(2)
    alpha = left.select_slider("α (width multiplier)", ALPHAS, value=1.0, key="scaling_alpha")
    resolution = right.select_slider("input resolution (ρ·224)", RESOLUTIONS, value=224, key="scaling_resolution")
    full = mobilenet_macs(1.0, 224)
    counted = mobilenet_macs(alpha, resolution)
    predicted = full * alpha**2 * (resolution / 224) ** 2
    cols = st.columns(3)
    cols[0].metric("counted MACs", exact(counted), border=True)
    cols[1].metric("predicted α²ρ² × MACs(1, 224)", exact(round(predicted)), border=True)
    cols[2].metric("counted / predicted", f"{counted / predicted:.3f}", border=True)

    at_resolution = mobilenet_macs(1.0, resolution)
    widths = pd.DataFrame(
        {
            "alpha": ALPHAS,
            "counted_macs": [mobilenet_macs(a, resolution) for a in ALPHAS],
            "predicted_macs": [at_resolution * a**2 for a in ALPHAS],
        }
    )
    at_width = mobilenet_macs(alpha, 224)
    sizes = pd.DataFrame(
        {
            "resolution": RESOLUTIONS,
            "counted_macs": [mobilenet_macs(alpha, r) for r in RESOLUTIONS],
            "predicted_macs": [at_width * (r / 224) ** 2 for r in RESOLUTIONS],
        }
    )
    left, right = st.columns(2)
    with left:
        show_figure(width_scaling(widths, current_alpha=alpha), key="scaling_alpha_chart")
        download_buttons(widths, f"mobilenet_v1_width_at_{resolution}", key="scaling_alpha_download")
    with right:
        show_figure(resolution_scaling(sizes, current_resolution=resolution), key="scaling_resolution_chart")
        download_buttons(sizes, f"mobilenet_v1_resolution_at_alpha_{alpha}", key="scaling_resolution_download")


page_header(
    "Scaling rules", "How the papers' rules of thumb compare with the MACs our analyzer counts on the real networks."
)
try:
    with st.spinner("Analysing the scaled networks…"):
        _efficientnet_section()
        st.divider()
        _knob_section()
        st.divider()
        _mobilenet_section()
except UserError as exc:
    show_user_error(exc)
