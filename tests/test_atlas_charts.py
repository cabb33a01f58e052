"""The Catalogue page's charts stay readable: a whole catalogue's families are in the hover, not in a legend."""

import pandas as pd

from explorer.figures.atlas_charts import MAX_LEGEND_FAMILIES, macs_params_activations


def frame(families: int) -> pd.DataFrame:
    return pd.DataFrame({
        "model": [f"m{i}" for i in range(families)], "family": [f"f{i}" for i in range(families)],
        "macs": [10**6 * (i + 1) for i in range(families)], "params": [1000 * (i + 1) for i in range(families)],
        "activation_bytes": [4000] * families, "input": ["x 1x3x224x224 float32"] * families,
    })


def test_a_whole_catalogue_has_no_legend_over_the_chart():
    assert macs_params_activations(frame(MAX_LEGEND_FAMILIES + 1)).layout.showlegend is False


def test_a_few_families_get_a_legend_beside_the_plot():
    fig = macs_params_activations(frame(3))
    assert fig.layout.showlegend is not False and fig.layout.legend.x > 1  # right of the plot, clear of the title
