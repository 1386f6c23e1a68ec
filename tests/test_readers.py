"""Reading inputs as `scorer batch` does: every record once, in order, or one clear error."""

from __future__ import annotations

import bz2
import csv
import gzip
import json
import lzma

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_sentiment.runtime.readers import NO_WORDS
from tests.batch_helpers import read_csv, run_csv, scorer, write


def test_quoted_newlines_and_crlf_inside_reviews_stay_one_record(tmp_path, fp32):
    text = 'id,review\r\n7,"Great\r\nfilm,\n""really"" good"\r\n8,plain bad film\r\n'
    result, rows = run_csv(tmp_path, text, "--id-column", "id")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows] == ["7", "8"]
    expected = fp32.score(['Great\r\nfilm,\n"really" good'])[0]
    assert float(rows[0]["score"]) == pytest.approx(float(expected), abs=1e-6)


def test_utf8_bom_does_not_become_part_of_the_first_column_name(tmp_path):
    result, rows = run_csv(tmp_path, "\ufeffreview\ngreat film\n".encode("utf-8-sig"))
    assert result.exit_code == 0, result.output
    assert len(rows) == 1 and rows[0]["error"] == ""


def test_cp1252_bytes_fail_naming_the_line_or_score_with_encoding(tmp_path):
    data = "review\ngood\ncaf\xe9 was great\n".encode("cp1252")
    result, rows = run_csv(tmp_path, data)
    assert result.exit_code == 2
    assert "line 3" in result.output and "--encoding" in result.output
    assert rows is None  # nothing written
    result, rows = run_csv(tmp_path, data, "--encoding", "cp1252")
    assert result.exit_code == 0 and len(rows) == 2


def test_a_nul_byte_inside_a_review_is_scored_not_a_crash(tmp_path):
    result, rows = run_csv(tmp_path, b"review\ngreat\x00film\n")
    assert result.exit_code == 0, result.output
    assert rows[0]["error"] == "" and rows[0]["score"]


def test_a_multi_megabyte_review_is_scored_with_the_contract_truncation(tmp_path, fp32):
    long_review = "boring " * 600_000 + "but the ending is wonderful and moving"
    result, rows = run_csv(tmp_path, f"review\n{long_review}\nshort\n")
    assert result.exit_code == 0, result.output
    assert len(rows) == 2
    expected = fp32.score([long_review])[0]
    assert float(rows[0]["score"]) == pytest.approx(float(expected), abs=1e-6)


def test_rows_with_too_many_or_too_few_fields_become_error_records_exit_3(tmp_path):
    data = "id,review\n1,fine film\n2,too,many\n3\n4,great film\n"
    result, rows = run_csv(tmp_path, data, "--id-column", "id")
    assert result.exit_code == 3
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert "3 fields; the header has 2" in rows[1]["error"] and rows[1]["score"] == ""
    assert "has 1 field;" in rows[2]["error"]
    assert rows[0]["error"] == rows[3]["error"] == ""


def test_an_unterminated_quote_exits_2_naming_the_line_and_writes_nothing(tmp_path):
    result, rows = run_csv(tmp_path, 'review\nfine\n"never closed\nmore\n')
    assert result.exit_code == 2
    assert "line 3" in result.output
    assert rows is None
    assert list(tmp_path.glob("*.partial")) == []


def test_a_missing_text_column_lists_the_columns_found(tmp_path):
    result, _ = run_csv(tmp_path, "title,stars\nx,y\n")
    assert result.exit_code == 2
    assert "'title', 'stars'" in result.output and "--text-column" in result.output
    result, _ = run_csv(tmp_path, "title,stars\nx,y\n", "--text-column", "comment")
    assert result.exit_code == 2 and "no column 'comment'" in result.output


def test_a_duplicated_text_column_is_ambiguous_but_other_duplicates_are_fine(tmp_path):
    result, _ = run_csv(tmp_path, "review,review\na,b\n")
    assert result.exit_code == 2 and "appears 2 times" in result.output
    result, rows = run_csv(tmp_path, "x,x,review\n1,2,great\n")
    assert result.exit_code == 0 and len(rows) == 1


def test_the_only_column_is_the_text_column_whatever_its_name(tmp_path):
    result, rows = run_csv(tmp_path, "comments\ngreat film\n")
    assert result.exit_code == 0 and len(rows) == 1


def test_an_empty_file_exits_2_with_a_clear_message(tmp_path):
    result, rows = run_csv(tmp_path, b"")
    assert result.exit_code == 2 and "empty" in result.output and rows is None


def test_a_header_only_file_gives_a_header_only_output_and_exit_0(tmp_path):
    result, rows = run_csv(tmp_path, "id,review\n")
    assert result.exit_code == 0, result.output
    assert rows == []
    assert (tmp_path / "out.csv").read_text() == "id,score,label,error\n"


@pytest.mark.parametrize("word", ["NA", "null", "N/A", "nan", "None", "NULL", "#N/A"])
def test_reviews_that_read_like_missing_values_are_scored_as_text(tmp_path, word):
    result, rows = run_csv(tmp_path, f"review\n{word}\n")
    assert result.exit_code == 0, result.output
    assert rows[0]["error"] == "" and rows[0]["score"] != ""


def test_an_empty_review_is_an_error_record_not_a_dropped_row(tmp_path):
    result, rows = run_csv(
        tmp_path, 'id,review\n1,good\n2,""\n3,   \n4,!!!\n5,bad\n', "--id-column", "id"
    )
    assert result.exit_code == 3
    assert [r["id"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[1]["error"] == rows[2]["error"] == "the review is empty"
    assert rows[3]["error"] == NO_WORDS


def test_a_blank_line_is_an_error_record_too(tmp_path):
    result, rows = run_csv(tmp_path, "id,review\n1,good\n\n2,bad\n")
    assert result.exit_code == 3
    assert [r["error"] for r in rows] == ["", "the row is blank", ""]


def test_an_unreadable_input_exits_2(tmp_path):
    result = scorer(str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "cannot read" in result.output
    assert "Traceback" not in result.output


def test_tsv_and_custom_delimiters(tmp_path):
    source = write(tmp_path, "in.tsv", "id\treview\n1\tgreat, really great\n")
    out = tmp_path / "out.csv"
    assert scorer(str(source), "-o", str(out), "--id-column", "id").exit_code == 0
    assert read_csv(out)[0]["error"] == ""
    source = write(tmp_path, "in.txt", "id;review\n1;great film\n")
    result = scorer(str(source), "-o", str(out), "--format", "csv", "--delimiter", ";")
    assert result.exit_code == 0 and read_csv(out)[0]["error"] == ""


def test_jsonl_in_and_out_keeps_ids_and_reports_bad_lines(tmp_path):
    lines = [
        json.dumps({"id": "a", "text": "great film"}),
        "{not json",
        json.dumps([1, 2]),
        "",
        json.dumps({"id": 5, "text": None}),
        json.dumps({"id": "z", "other": "x"}),
        json.dumps({"id": "\ud800", "text": "bad film"}),
    ]
    source = write(tmp_path, "in.jsonl", "\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = scorer(str(source), "-o", str(out), "--id-column", "id")
    assert result.exit_code == 3, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 7  # one record a line, the blank line included
    assert records[0]["id"] == "a" and records[0]["label"] == "positive"
    assert "not valid JSON" in records[1]["error"] and "line 2" in records[1]["error"]
    assert "not an object" in records[2]["error"]
    assert records[3]["error"] == "the line is blank"
    assert records[4]["id"] == 5 and "null" in records[4]["error"] and records[4]["score"] is None
    assert "no 'text' field" in records[5]["error"]
    assert records[6]["error"] == ""
    # Records without an id of their own get none, never a record number.
    assert [records[i]["id"] for i in (1, 2, 3)] == [None, None, None]


def test_keep_columns_all_keeps_fields_that_only_later_json_records_have(tmp_path):
    lines = [
        {"text": "great film", "a": 1},
        {"text": "awful film", "b": "two"},
        {"text": "fine film", "a": 3, "c": [4]},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    source = write(tmp_path, "in.jsonl.gz", gzip.compress(data))
    for name, args, stdin in (
        ("file", [str(source)], None),
        ("stdin", ["-", "--format", "jsonl"], data),
    ):
        out = tmp_path / f"{name}.csv"
        result = scorer(*args, "-o", str(out), "--quiet", "--keep-columns", "all", input=stdin)
        assert result.exit_code == 0, result.output
        rows = read_csv(out)
        assert list(rows[0])[-4:] == ["text", "a", "b", "c"]
        assert [(r["a"], r["b"], r["c"]) for r in rows] == [
            ("1", "", ""),
            ("", "two", ""),
            ("3", "", "[4]"),
        ]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.text(st.characters(codec="utf-8", exclude_characters="\r"), min_size=1, max_size=12),
            st.text(st.characters(codec="utf-8"), max_size=80),
        ),
        max_size=25,
    ),
    window=st.integers(1, 30),
)
def test_random_valid_csvs_give_one_record_per_record_in_order(tmp_path_factory, rows, window):
    folder = tmp_path_factory.mktemp("prop")
    source = folder / "in.csv"
    with source.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["key", "review"])
        writer.writerows(rows)
    out = folder / "out.csv"
    result = scorer(str(source), "-o", str(out), "--id-column", "key", "--window", str(window))
    assert result.exit_code in (0, 3), result.output
    written = read_csv(out)
    assert [r["id"] for r in written] == [key for key, _ in rows]
    for (_, text), record in zip(rows, written, strict=True):
        assert (record["error"] == "") == (record["score"] != "")
        if not text.strip():
            assert record["error"] == "the review is empty"


@pytest.mark.parametrize(("delimiter", "named"), [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_a_header_hiding_another_delimiter_stops_naming_it(tmp_path, delimiter, named):
    data = f"id{delimiter}Review\n1{delimiter}Great film\n2{delimiter}Awful film\n"
    result, rows = run_csv(tmp_path, data)
    assert result.exit_code == 2 and rows is None
    assert "--delimiter" in result.output and named in result.output
    piped = scorer("-", "-o", "-", "--quiet", input=data)
    assert piped.exit_code == 2 and "--delimiter" in piped.output
    result, rows = run_csv(tmp_path, data, "--delimiter", "tab" if delimiter == "\t" else delimiter)
    assert result.exit_code == 0 and [r["id"] for r in rows] == ["1", "2"]


def test_a_one_column_file_with_a_semicolon_scores_when_the_comma_is_confirmed(tmp_path):
    result, rows = run_csv(tmp_path, "notes; comments\ngreat; really\n", "--delimiter", ",")
    assert result.exit_code == 0 and len(rows) == 1


@pytest.mark.parametrize("spelling", ["\\t", "tab", "TAB"])
def test_the_tab_delimiter_can_be_spelled_out(tmp_path, spelling):
    result, rows = run_csv(
        tmp_path, "id\treview\n7\tgreat film\n", "--delimiter", spelling, "--id-column", "id"
    )
    assert result.exit_code == 0 and rows[0]["id"] == "7"


def test_two_columns_that_could_hold_the_reviews_stop_the_run(tmp_path):
    result, rows = run_csv(tmp_path, "Text,TEXT\na,b\n")
    assert result.exit_code == 2 and rows is None and "ambiguous" in result.output


def test_named_columns_match_in_any_case_when_only_one_matches(tmp_path):
    result, rows = run_csv(
        tmp_path, "ID,Body\n7,great film\n", "--text-column", "body", "--id-column", "id"
    )
    assert result.exit_code == 0 and rows[0]["id"] == "7" and rows[0]["score"]
    result, _ = run_csv(tmp_path, "Body,BODY\na,b\n", "--text-column", "body")
    assert result.exit_code == 2 and "but for case" in result.output


def test_records_without_an_id_get_an_empty_id_never_a_record_number(tmp_path):
    result, rows = run_csv(
        tmp_path, "id,review\na,great\nb\n,dull\nd,fine film\n", "--id-column", "id"
    )
    assert result.exit_code == 3
    assert [r["id"] for r in rows] == ["a", "b", "", "d"]
    assert "1 field;" in rows[1]["error"] and rows[2]["score"]  # scored, with no id of its own


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [(".csv.gz", gzip.compress), (".csv.bz2", bz2.compress), (".csv.xz", lzma.compress)],
)
def test_compressed_inputs_are_read_transparently(tmp_path, suffix, compress):
    data = "id,review\n1,a great film\n2,a dull film\n"
    plain, _ = run_csv(tmp_path, data)
    source = write(tmp_path, "in" + suffix, compress(data.encode()))
    out = tmp_path / "out.csv"
    result = scorer(str(source), "-o", str(out), "--quiet")
    assert result.exit_code == 0, result.output
    assert read_csv(out) == read_csv(tmp_path / "out.csv")
    # The first bytes tell the codec, whatever the name; stdin too.
    renamed = write(tmp_path, "in.csv", compress(data.encode()))
    assert scorer(str(renamed), "-o", str(out), "--quiet").exit_code == 0
    piped = scorer("-", "-o", "-", "--quiet", input=compress(data.encode()))
    assert piped.exit_code == 0 and piped.output.count("\n") == 3


def test_a_damaged_compressed_file_is_one_clear_error(tmp_path):
    data = gzip.compress(("id,review\n" + "1,great film\n" * 5000).encode())
    source = write(tmp_path, "in.csv.gz", data[: len(data) // 2])
    result = scorer(str(source), "-o", str(tmp_path / "o.csv"), "--quiet")
    assert result.exit_code == 2 and "compressed but cannot be read" in result.output


def test_the_encoding_hint_never_suggests_the_encoding_given(tmp_path):
    source = write(tmp_path, "in.csv", b"review\nok\n" + b"\x81\x8d\x8f\n")
    result = scorer(str(source), "-o", str(tmp_path / "o.csv"), "--encoding", "cp1252")
    assert result.exit_code == 2 and "--encoding cp1252" not in result.output
