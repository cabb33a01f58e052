"""The Benchmarks page with uploads (issue 14 item 7): a new model shows up selected, bad files are refused with
one line (no rows, negative or infinite latencies, integers beyond 64 bits, repeated configurations), a big file
is refused before it is parsed, and a file is parsed once however often the page reruns."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analyzers.bench.results_file import ResultsFileError, append_row
from analyzers.bench.schema import COLUMN_NAMES, COLUMNS, load_results
from explorer.figures.bench_charts import MAX_CONFIGURATIONS, latency_vs_batch, throughput_by_model
from tests.bench_rows import bench_row

PAGE = Path(__file__).resolve().parents[1] / "explorer" / "pages" / "benchmarks.py"
_BY_NAME = {column.name: column for column in COLUMNS}


def csv_bytes(rows: list[dict], edit=None) -> bytes:
    """Rows (as `bench_row` gives them) written as a results CSV; `edit(cells)` may change the text cells."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMN_NAMES)
    for row in rows:
        cells = {name: _BY_NAME[name].format(row[name]) for name in COLUMN_NAMES}
        if edit is not None:
            edit(cells)
        writer.writerow([cells[name] for name in COLUMN_NAMES])
    return out.getvalue().encode()


@pytest.fixture
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The page over one shipped file with lenet5 at batch 1 and 8."""
    append_row(tmp_path / "cpu.csv", bench_row("lenet5", 1, 2.0))
    append_row(tmp_path / "cpu.csv", bench_row("lenet5", 8, 6.0))
    monkeypatch.setenv("EXPLORER_BENCH_DIR", str(tmp_path))
    at = AppTest.from_file(str(PAGE), default_timeout=120).run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="bench_upload").upload(name, data, "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_uploaded_model_is_added_and_selected(page: AppTest) -> None:
    assert metrics(page)["Results"] == "2"
    page.multiselect(key="bench_models").set_value([]).run()  # the user's own choice: nothing
    page.multiselect(key="bench_models").set_value(["lenet5"]).run()
    upload(page, "resnet.csv", csv_bytes([bench_row("resnet18", 1, 9.0), bench_row("resnet18", 4, 20.0)]))
    assert page.multiselect(key="bench_models").value == ["lenet5", "resnet18"]
    assert metrics(page)["Results"] == "4" and metrics(page)["Models"] == "2"
    assert "Added 2 result(s) from resnet\\.csv" in page.success[0].value


def test_a_model_the_user_removed_stays_removed_when_a_file_is_added(page: AppTest) -> None:
    page.multiselect(key="bench_models").set_value([]).run()
    upload(page, "resnet.csv", csv_bytes([bench_row("resnet18", 1, 9.0)]))
    assert page.multiselect(key="bench_models").value == ["resnet18"]
    page.file_uploader(key="bench_upload").clear().run()  # the upload is gone, and so is its model
    assert not page.exception and page.multiselect(key="bench_models").value == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (csv_bytes([]), "the CSV has a header but no rows"),
        (csv_bytes([bench_row("m", 1, 2.0)], lambda c: c.update(latency_ms_p50="-2")),
         "column 'latency_ms_p50', line 2: -2 is not above zero"),
        (csv_bytes([bench_row("m", 1, 2.0)], lambda c: c.update(latency_ms_p95="inf")),
         "column 'latency_ms_p95', line 2: 'inf' is not a finite number"),
        (csv_bytes([bench_row("m", 1, 2.0)], lambda c: c.update(flops=str(2**63))),
         f"column 'flops', line 2: {2**63} is out of range: integers here must fit in 64 bits"),
        (csv_bytes([bench_row("m", 1, 2.0)], lambda c: c.update(batch="0")),
         "column 'batch', line 2: 0 is below the smallest allowed value, 1"),
        (csv_bytes([bench_row("m", 1, 2.0), bench_row("n", 1, 2.0), bench_row("m", 1, 3.0)]),
         "line 4 repeats the configuration of line 2 (m, batch 1, fp32, nchw, test cpu); each configuration may "
         "appear once (1 repeated row(s))"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(ResultsFileError) as caught:
        load_results(data)
    assert str(caught.value) == message or str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_the_page_refuses_a_bad_upload_and_keeps_the_shipped_results(page: AppTest) -> None:
    rows = [bench_row("m", 1, 2.0)] * 3  # the same configuration three times
    upload(page, "dupes.csv", csv_bytes(rows))
    (error,) = page.error
    assert error.value.startswith("dupes\\.csv is not a benchmark results file: line 3 repeats the configuration")
    assert metrics(page)["Results"] == "2"  # the shipped file still shows


def test_an_upload_over_the_limit_is_refused_before_parsing(page: AppTest, monkeypatch) -> None:
    from explorer.ui import bench_results

    parsed: list[int] = []
    real = bench_results._parse
    monkeypatch.setattr(bench_results, "_parse", lambda digest, data: parsed.append(len(data)) or real(digest, data))
    upload(page, "big.csv", b"x" * (5 * 2**20 + 1))
    assert page.error[0].value.endswith("csv is 5.0 MB; a results file may have at most 5 MB.")
    assert parsed == []
    assert page.file_uploader(key="bench_upload").proto.max_upload_size_mb == 5


def test_an_upload_is_parsed_once_across_reruns(page: AppTest, monkeypatch) -> None:
    import analyzers.bench.schema as schema

    calls: list[int] = []
    real = schema.load_results
    monkeypatch.setattr("explorer.ui.bench_results.load_results", lambda data: calls.append(1) or real(data))
    data = csv_bytes([bench_row("parsed_once", 1, 3.0)])
    upload(page, "once.csv", data)
    page.run()
    page.multiselect(key="bench_models").set_value(["parsed_once"]).run()
    assert not page.exception and len(calls) == 1


def test_charts_of_many_configurations_draw_the_fastest() -> None:
    rows = [bench_row(f"model{i:03d}", 1, 1.0 + i) for i in range(100)]  # model000 is the fastest
    results = load_results(csv_bytes(rows))
    latency = latency_vs_batch(results)
    assert len(latency.data) == MAX_CONFIGURATIONS
    assert {trace.name for trace in latency.data} == {f"model{i:03d} · fp32" for i in range(MAX_CONFIGURATIONS)}
    assert latency.layout.title.text.endswith(f": the {MAX_CONFIGURATIONS} fastest of 100 configurations")
    bars = throughput_by_model(results)
    assert len(bars.data[0].y) == MAX_CONFIGURATIONS


def test_chart_names_from_a_file_are_text_not_markup() -> None:
    name = '<a href="http://127.0.0.1:9/x">%{x}</a>'
    results = load_results(csv_bytes([bench_row(name, 1, 2.0)]))
    spec = json.loads(latency_vs_batch(results).to_json())
    (trace,) = spec["data"]
    assert trace["name"] == "&lt;a href=&#34;http://127.0.0.1:9/x&#34;&gt;%{x}&lt;/a&gt; · fp32"  # entities Plotly decodes
    assert "href" not in trace["hovertemplate"] and trace["hovertemplate"].endswith("<extra>%{fullData.name}</extra>")


def test_a_header_of_700000_columns_is_refused_before_pandas_reads_it(page: AppTest, monkeypatch) -> None:
    """Was: the page spent 57 s and +620 MB on a 5 MB CSV whose header has 700,000 columns before refusing it. The
    header is checked first, so pandas never sees the file."""
    import pandas as pd

    header = ",".join(map(str, range(700_000))).encode()
    assert len(header) <= 5 * 2**20
    monkeypatch.setattr(pd, "read_csv", lambda *args, **kwargs: pytest.fail("pandas parsed a refused file"))
    upload(page, "wide.csv", header + b"\n1\n")
    (error,) = page.error
    assert error.value.replace("\\", "").startswith(  # the page escapes Markdown
        f"wide.csv is not a benchmark results file: the header has 700,000 columns; a results CSV has "
        f"{len(COLUMN_NAMES)} and at most 64 more")
    assert metrics(page)["Results"] == "2"
