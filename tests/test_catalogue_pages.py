"""The app's Catalogue page and the catalogue picker on Architecture and Compare (Streamlit AppTest, no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from explorer.atlas_table import atlas_frame, counts

pytest.importorskip("timm")
PAGES = Path(__file__).resolve().parent.parent / "explorer" / "pages"


def test_the_catalogue_page_shows_the_shipped_atlas() -> None:
    at = AppTest.from_file(str(PAGES / "catalogue.py"), default_timeout=240).run()
    assert not at.exception
    expected = counts(atlas_frame("timm"))
    assert [m.value for m in at.metric] == [f"{expected.tried:,}", f"{expected.analysed:,}",
                                            f"{expected.fully_counted:,}"]
    assert len(at.get("plotly_chart")) == 3  # MACs vs params, top-1 vs MACs, ours vs fvcore
    assert any("fvcore" in m.value for m in at.markdown)  # the convention is explained
    at.multiselect(key="catalogue_families").set_value(["resnet"]).run()
    assert not at.exception
    at.radio(key="catalogue_source").set_value("torchvision").run()
    assert not at.exception and at.metric[0].value == f"{counts(atlas_frame('torchvision')).tried:,}"


def test_architecture_picks_a_library_model_by_name() -> None:
    at = AppTest.from_file(str(PAGES / "architecture.py"), default_timeout=240).run()
    at.radio(key="arch_source").set_value("timm").run()
    at.selectbox(key="arch_timm_family").set_value("resnet").run()
    at.selectbox(key="arch_timm_resnet_model").set_value("resnet18").run()
    assert not at.exception
    assert at.title[0].value == "timm:resnet18"


def test_compare_adds_library_models_to_the_table() -> None:
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=240).run()
    at.multiselect(key="compare_catalogue_models").set_value(["torchvision:mobilenet_v2"]).run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["model"] == "torchvision:mobilenet_v2"].iloc[0]
    assert row["params"] == 3_504_872  # MobileNet_V2_Weights meta num_params
    assert row["top1"] == 72.154  # its DEFAULT weights (IMAGENET1K_V2) acc@1


def test_compare_gives_a_timm_model_its_published_top1_and_param_bytes() -> None:
    """timm:convnext_tiny: timm's results table, row `convnext_tiny.<default tag>` at its default 224 input, gives
    84.192 (read here straight from the shipped CSV with timm's own default tag); param bytes = 4 × 28,589,128."""
    import csv

    import timm

    from explorer.atlas import ASSETS

    config = timm.create_model("convnext_tiny", pretrained=False).pretrained_cfg
    wanted = (f"convnext_tiny.{config['tag']}", str(config["input_size"][-1]))
    with open(ASSETS / "timm-results-imagenet.csv", newline="") as handle:
        (top1,) = [float(r["top1"]) for r in csv.DictReader(handle) if (r["model"], r["img_size"]) == wanted]
    at = AppTest.from_file(str(PAGES / "compare.py"), default_timeout=240).run()
    at.multiselect(key="compare_models").set_value(["resnet50"]).run()
    at.multiselect(key="compare_catalogue_models").set_value(["timm:convnext_tiny"]).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("model")
    assert table.loc["timm:convnext_tiny", "top1"] == top1 == 84.192
    assert table.loc["timm:convnext_tiny", "param_bytes"] == 4 * 28_589_128
    accuracy = next(c for c in at.get("plotly_chart") if c.key == "compare_bubble")
    assert "timm:convnext_tiny" in accuracy.proto.spec  # on the accuracy chart, not dropped for a missing top-1


def test_a_catalogue_point_opens_on_the_architecture_page() -> None:
    """Picking timm's convnext_tiny (a click on its point fills the same box) offers a link to the Architecture page
    with `?model=timm:convnext_tiny`; that address opens it there, on the timm source."""
    at = AppTest.from_file(str(PAGES / "catalogue.py"), default_timeout=240).run()
    at.selectbox(key="catalogue_open").select("convnext_tiny").run()
    assert not at.exception
    assert any("(./?model=timm%3Aconvnext_tiny)" in m.value for m in at.markdown)
    arch = AppTest.from_file(str(PAGES / "architecture.py"), default_timeout=240)
    arch.query_params.update(model="timm:convnext_tiny")
    arch.run()
    assert not arch.exception and arch.title[0].value == "timm:convnext_tiny"


def test_catalogue_charts_name_their_families_and_the_table_shows_no_none() -> None:
    """A whole catalogue (98 timm families): a legend of the 11 largest families and one 'other families' entry,
    some points named beside them; a missing published figure is empty (shown as '—'), never the text 'None'."""
    from explorer.figures.atlas_charts import OTHER_FAMILIES, macs_params_activations

    frame = atlas_frame("timm")
    ok = frame[frame["status"] == "ok"]
    fig = macs_params_activations(ok)
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name != "names"]
    assert len(legend) == 12 and legend[-1] == OTHER_FAMILIES
    assert fig.layout.showlegend is not False
    names = next(t for t in fig.data if t.name == "names")
    assert 5 <= len(names.text) <= 12 and set(names.text) <= set(ok["model"])
    at = AppTest.from_file(str(PAGES / "catalogue.py"), default_timeout=240).run()
    table = at.dataframe[0].value
    assert not (table.astype(str) == "None").any().any()
    assert at.dataframe[0].proto.placeholder == "—"


def test_a_family_keeps_its_colour_on_every_catalogue_chart() -> None:
    """The three charts of the timm catalogue share one family → colour map (resnet is the same colour on all)."""
    at = AppTest.from_file(str(PAGES / "catalogue.py"), default_timeout=240).run()
    colours = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        colours.append({t["name"]: t["marker"]["color"] for t in spec["data"] if t.get("mode") == "markers"})
    assert len(colours) == 3
    shared = set(colours[0]) & set(colours[1]) & set(colours[2])
    assert "resnet" in shared
    assert all(c[name] == colours[0][name] for c in colours for name in shared)
