"""The Catalogue page's charts stay readable: a legend beside the plot, at most MAX_LEGEND_FAMILIES entries (the
largest families, then one grey 'other families'), every family still in each point's hover."""

import pandas as pd

from explorer.figures.atlas_charts import MAX_LEGEND_FAMILIES, macs_params_activations


def frame(families: int) -> pd.DataFrame:
    return pd.DataFrame({
        "model": [f"m{i}" for i in range(families)], "family": [f"f{i}" for i in range(families)],
        "macs": [10**6 * (i + 1) for i in range(families)], "params": [1000 * (i + 1) for i in range(families)],
        "activation_bytes": [4000] * families, "input": ["x 1x3x224x224 float32"] * families,
    })


def test_a_whole_catalogue_has_a_bounded_legend_beside_the_chart():
    fig = macs_params_activations(frame(3 * MAX_LEGEND_FAMILIES))
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name != "names"]
    assert len(legend) == MAX_LEGEND_FAMILIES and legend[-1] == "other families"
    assert fig.layout.legend.x > 1  # right of the plot, not over it


def test_a_few_families_get_a_legend_beside_the_plot():
    fig = macs_params_activations(frame(3))
    assert fig.layout.showlegend is not False and fig.layout.legend.x > 1  # right of the plot, clear of the title
