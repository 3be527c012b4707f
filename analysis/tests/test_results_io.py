"""results_io: provenance and rows of JSON and CSV results; unknown schemas are refused."""
import json
import os

import pytest

import results_io as rio
from conftest import FIXTURES


def fixture(name):
    return os.path.join(FIXTURES, name)


def test_json_rows_and_provenance():
    r = rio.load(fixture("analytic_optimal.json"))
    raw = json.load(open(fixture("analytic_optimal.json")))
    assert r.schema_version == 1
    for k in ("git_sha", "command", "date"):
        assert r.meta[k] == raw[k]
    assert len(r.rows) == len(raw["records"])
    assert list(r.rows["mse"]) == [rec["mse"] for rec in raw["records"]]


def test_csv_matches_json_of_the_same_run():
    # Both fixtures come from the same compute_quant_error arguments (README in fixtures/).
    j = rio.load(fixture("analytic_optimal.json")).rows
    c = rio.load(fixture("analytic_optimal.csv"))
    assert c.schema_version == 1
    assert "compute_quant_error" in c.meta["command"]
    assert list(c.rows["format"]) == list(j["format"])
    # CSV numbers are printed with 17 significant digits: they read back to the same doubles.
    assert list(c.rows["sqnr_db"]) == list(j["sqnr_db"])


def test_format_table_json():
    r = rio.load(fixture("formats.json"))
    e4m3 = r.rows.set_index("name").loc["e4m3"]
    assert e4m3["max"] == 240  # paper grid, reference-spec §6.3


@pytest.mark.parametrize("version", [0, 2, 99])
def test_unknown_schema_version_is_refused(tmp_path, version):
    raw = json.load(open(fixture("analytic_optimal.json")))
    raw["schema_version"] = version
    p = tmp_path / "future.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(rio.UnsupportedSchema, match=f"schema_version {version} is not supported"):
        rio.load(str(p))


def test_missing_schema_version_is_refused(tmp_path):
    p = tmp_path / "plain.json"
    p.write_text(json.dumps({"records": [{"mse": 1.0}]}))
    with pytest.raises(rio.UnsupportedSchema, match="no schema_version"):
        rio.load(str(p))


def test_csv_schema_checks(tmp_path):
    text = open(fixture("analytic_optimal.csv")).read()
    p = tmp_path / "v7.csv"
    p.write_text(text.replace("schema_version=1", "schema_version=7", 1))
    with pytest.raises(rio.UnsupportedSchema, match="schema_version 7"):
        rio.load(str(p))
    q = tmp_path / "bare.csv"
    q.write_text(text.split("\n", 1)[1])
    with pytest.raises(rio.UnsupportedSchema, match="provenance line"):
        rio.load(str(q))


def test_csv_comment_keeps_command_with_spaces_and_equals():
    m = rio.parse_csv_comment("# schema_version=1 git_sha=abc date=2024-01-01T00:00:00Z "
                              "command=tool --dist 'normal:mu=0,sigma=1' -o x")
    assert m == {"schema_version": "1", "git_sha": "abc", "date": "2024-01-01T00:00:00Z",
                 "command": "tool --dist 'normal:mu=0,sigma=1' -o x"}


def test_format_order_and_names():
    names = ["int8", "e2m5", "e5m2", "e1m6", "e4m3"]
    assert sorted(names, key=rio.format_sort_key) == ["e5m2", "e4m3", "e2m5", "e1m6", "int8"]
    assert rio.exp_bits_of("e3m4") == 3 and rio.exp_bits_of("int8") == 0
    assert rio.spec_param("student_t:nu=2.5,clip=100", "nu") == 2.5
    assert rio.pretty_distribution("student_t:nu=8,clip=100") == "Student-t ν=8, clip ±100"
