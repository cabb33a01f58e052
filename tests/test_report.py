"""Reports: DataFrame columns, CSV round trip, JSON and Markdown."""

import io
import json

import pandas as pd

from analyzers import analyze
from analyzers.reports.table import COLUMNS, read_csv, to_csv, to_dataframe, to_json, to_markdown
from explorer.zoo import build_model


def lenet():
    model = build_model("lenet5")
    return analyze(model.module, model.input_size, model_name="lenet5")


def test_dataframe_has_one_row_per_record_with_unit_named_columns():
    a = lenet()
    frame = to_dataframe(a)
    assert list(frame.columns) == list(COLUMNS)
    assert len(frame) == len(a.records)
    assert frame.loc[frame.is_leaf, "macs"].sum() == a.totals.macs == 416_520
    assert (frame.flops == 2 * frame.macs).all()
    first_conv = frame[frame.type == "Conv2d"].iloc[0]
    assert first_conv.input_shape == "1x1x32x32" and first_conv.output_shape == "1x6x28x28"
    assert first_conv.formula == "out 28×28×6 · kernel 5×5×1 = 117,600 MACs; bias 4,704 adds"


def test_csv_round_trips_exactly(tmp_path):
    a = lenet()
    path = tmp_path / "lenet5.csv"
    to_csv(a, path)
    pd.testing.assert_frame_equal(read_csv(path), to_dataframe(a))
    text = to_csv(a)
    pd.testing.assert_frame_equal(read_csv(io.StringIO(text)), to_dataframe(a))


def test_csv_round_trips_a_model_with_uncounted_ops_and_functional_rows(tmp_path):
    from tests.test_engine import WithFft

    a = analyze(WithFft(), (1, 8, 8))
    path = tmp_path / "fft.csv"
    to_csv(a, path)
    back = read_csv(path)
    pd.testing.assert_frame_equal(back, to_dataframe(a))
    assert back.loc[back.name == "(functional)", "uncounted_ops"].item() == "aten._fft_r2c.default"


def test_depth_limit_keeps_upper_records():
    model = build_model("inception_module")
    a = analyze(model.module, model.input_size)
    assert set(to_dataframe(a, max_depth=1).depth) == {0, 1}


def test_json_has_summary_and_layers(tmp_path):
    a = lenet()
    document = json.loads(to_json(a, tmp_path / "x.json"))
    assert document["summary"]["macs"] == 416_520 and document["summary"]["params"] == 61_706
    assert len(document["layers"]) == len(a.records)
    assert json.loads((tmp_path / "x.json").read_text()) == document


def test_markdown_table_lists_every_record_with_formulas():
    a = lenet()
    text = to_markdown(a)
    lines = text.splitlines()
    assert lines[0] == "| name | type | output_shape | params | macs | elementwise_ops | formula |"
    assert len(lines) == 2 + len(a.records)
    assert "| 416,520 |" in lines[2]
    assert "117,600 MACs" in text
