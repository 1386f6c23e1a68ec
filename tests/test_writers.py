"""Writing scores: the output formats, where the output goes, and outputs that cannot be written."""

from __future__ import annotations

import pytest

from tests.batch_helpers import scorer, write


def test_an_unwritable_output_folder_exits_2(tmp_path):
    source = write(tmp_path, "in.csv", "review\ngood\n")
    result = scorer(str(source), "-o", str(tmp_path / "missing" / "out.csv"))
    assert result.exit_code == 2 and "cannot write" in result.output
    result = scorer(str(source), "-o", str(tmp_path))  # its own folder: would replace it
    assert result.exit_code == 2 and "never replaces an input" in result.output
    (tmp_path / "scored").mkdir()
    result = scorer(str(source), "-o", str(tmp_path / "scored"))  # a folder: a file in it
    assert result.exit_code == 0 and (tmp_path / "scored" / "in.csv").is_file()


def test_parquet_in_and_out(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"review_id": [10, 11, 12], "review": ["great film", None, "awful film"]})
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    result = scorer(str(tmp_path / "in.parquet"), "-o", str(out), "--id-column", "review_id")
    assert result.exit_code == 3, result.output
    rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["10", "11", "12"]
    assert rows[1]["score"] is None and "null" in rows[1]["error"]
    assert rows[0]["label"] == "positive" and rows[2]["label"] == "negative"


def test_the_default_output_goes_beside_the_current_folder(tmp_path, monkeypatch):
    source = write(tmp_path, "reviews.csv", "review\ngreat\n")
    monkeypatch.chdir(tmp_path)
    result = scorer(str(source))
    assert result.exit_code == 0
    assert (tmp_path / "reviews.scores.csv").exists()
    assert "1 read, 1 scored, 0 errors" in result.output


def test_parquet_to_parquet_keeps_the_types_of_kept_columns(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    import datetime

    stamps = [datetime.datetime(2026, 1, d) for d in (1, 2, 3)]
    table = pa.table(
        {
            "review": ["great film", "awful film", None],
            "stars": pa.array([9, 2, None], pa.int16()),
            "weight": [0.5, 1.5, 2.5],
            "seen": [True, False, None],
            "tags": [["a"], [], ["b", "c"]],
            "when": pa.array(stamps, pa.timestamp("ms")),
            "score": ["x", "y", "z"],  # collides with an output column: becomes input_score
        }
    )
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    result = scorer(str(tmp_path / "in.parquet"), "-o", str(out), "--keep-columns", "all")
    assert result.exit_code == 3, result.output  # the null review is an error row
    written = pq.read_table(out)
    for name in ("stars", "weight", "seen", "tags", "when"):
        assert written.schema.field(name).type == table.schema.field(name).type, name
        assert written.column(name).to_pylist() == table.column(name).to_pylist(), name
    assert written.column("input_score").to_pylist() == ["x", "y", "z"]
    assert written.column("review").to_pylist() == ["great film", "awful film", None]

    # From a text format, kept values stay text: their types are not known.
    csv_out = tmp_path / "from-csv.parquet"
    source = write(tmp_path, "in.csv", "review,stars\ngreat film,9\n")
    assert scorer(str(source), "-o", str(csv_out), "--keep-columns", "stars").exit_code == 0
    assert pq.read_table(csv_out).column("stars").to_pylist() == ["9"]
