"""Many files at once: the local and Ray engines give the single-file scorer's output for
every file, resume without losing or duplicating, fail a bad file alone, never overwrite an
input, carry input columns, and read and write an S3-compatible store started here."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_sentiment.runtime.cli import app
from lstm_sentiment.runtime.errors import EXIT_FAILED_INPUTS
from lstm_sentiment.runtime.ray_engine import RayError, WorkerPlan, plan_workers
from tests.conftest import synthetic_review

runner = CliRunner()
REVIEWS = [synthetic_review(i % 2, i) for i in range(40)] + ["", "!!! ???", 'Fine, "quoted".']


def write_inputs(folder: Path, copies: int = 1) -> list[Path]:
    """The same reviews as CSV, JSON Lines and Parquet (with an extra column to keep)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    reviews = REVIEWS * copies
    with (folder / "a.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "review", "stars"])
        writer.writerows([f"r{i}", text, i % 10] for i, text in enumerate(reviews))
    with (folder / "b.jsonl").open("w", encoding="utf-8") as out:
        for i, text in enumerate(reviews):
            out.write(json.dumps({"review": text, "stars": i % 10}) + "\n")
    table = pa.table({"text": reviews, "stars": [i % 10 for i in range(len(reviews))]})
    pq.write_table(table, folder / "c.parquet")
    return [folder / "a.csv", folder / "b.jsonl", folder / "c.parquet"]


def single(path: Path, out: Path, *args: str) -> Path:
    result = runner.invoke(app, ["batch", str(path), "-o", str(out), "-q", *args])
    assert result.exit_code in (0, 3), result.output
    return out


def job(*args: str) -> object:
    return runner.invoke(app, ["batch", "-q", *args])


def manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


# -- the local engine ------------------------------------------------------------------------------


def test_every_output_equals_the_single_file_scorers(tmp_path):
    inputs = write_inputs(tmp_path / "in")
    result = job(str(tmp_path / "in"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 3, result.output  # the empty and wordless reviews are errors
    for path in inputs:
        expected = single(path, tmp_path / f"{path.stem}.single.csv")
        assert (tmp_path / "out" / f"{path.stem}.csv").read_bytes() == expected.read_bytes()
    entries = manifest(tmp_path / "out")["inputs"]
    assert [Path(e["input"]).name for e in entries] == ["a.csv", "b.jsonl", "c.parquet"]
    assert all(e["records"] == len(REVIEWS) and e["errors"] == 2 for e in entries)
    assert manifest(tmp_path / "out")["model"]["variant"] == "fp32"


def test_folders_skip_hidden_and_underscore_names_and_the_output_folder_inside(tmp_path):
    write_inputs(tmp_path / "in")
    (tmp_path / "in" / "_tmp").mkdir()
    (tmp_path / "in" / "_tmp" / "x.csv").write_text("review\nnot me\n")
    (tmp_path / "in" / ".hidden.csv").write_text("review\nnor me\n")
    out = tmp_path / "in" / "scored"
    for _ in range(2):  # the second run must not read the first run's outputs as inputs
        result = job(str(tmp_path / "in"), "-o", str(out), "--no-resume")
        assert result.exit_code == 3, result.output
        names = sorted(Path(e["input"]).name for e in manifest(out)["inputs"])
        assert names == ["a.csv", "b.jsonl", "c.parquet"]


def test_globs_and_nested_folders_map_to_relative_output_names(tmp_path):
    write_inputs(tmp_path / "in" / "2026" / "11")
    result = job(str(tmp_path / "in" / "**" / "*.csv"), "-o", str(tmp_path / "out"),
                 "--output-format", "jsonl")  # fmt: skip
    assert result.exit_code == 3, result.output
    assert (tmp_path / "out" / "2026" / "11" / "a.jsonl").is_file()
    assert len(manifest(tmp_path / "out")["inputs"]) == 1


def test_a_rerun_skips_done_inputs_and_redoes_missing_or_changed_ones(tmp_path):
    inputs = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    assert job(str(tmp_path / "in"), "-o", str(out)).exit_code == 3
    (out / "b.csv").unlink()
    with inputs[0].open("a", encoding="utf-8") as more:
        more.write("r99,One more great film.,9\n")
    assert job(str(tmp_path / "in"), "-o", str(out)).exit_code == 3
    entries = {Path(e["input"]).name: e for e in manifest(out)["inputs"]}
    assert entries["c.parquet"].get("resumed") is True
    assert not entries["a.csv"].get("resumed") and entries["a.csv"]["records"] == len(REVIEWS) + 1
    assert not entries["b.jsonl"].get("resumed") and (out / "b.csv").is_file()
    assert job(str(tmp_path / "in"), "-o", str(out), "--model", "int8").exit_code == 3
    assert not any(e.get("resumed") for e in manifest(out)["inputs"])  # another model


def test_a_bad_file_fails_alone_and_is_named(tmp_path):
    write_inputs(tmp_path / "in")
    (tmp_path / "in" / "d.csv").write_text("title,stars\nx,y\n")
    result = job(str(tmp_path / "in"), "-o", str(tmp_path / "out"))
    assert result.exit_code == EXIT_FAILED_INPUTS, result.output
    entries = {Path(e["input"]).name: e for e in manifest(tmp_path / "out")["inputs"]}
    assert entries["d.csv"]["status"] == "failed" and "which column" in entries["d.csv"]["error"]
    assert all(entries[n]["status"] == "done" for n in ("a.csv", "b.jsonl", "c.parquet"))
    assert not (tmp_path / "out" / "d.csv").exists()


def test_outputs_that_would_clash_or_replace_an_input_are_refused_before_any_work(tmp_path):
    (tmp_path / "in").mkdir()
    for name in ("a.csv", "a.jsonl"):
        (tmp_path / "in" / name).write_text("review\nfine\n" if name.endswith("csv") else "")
    result = job(str(tmp_path / "in"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "would both be scored into" in result.output
    assert not (tmp_path / "out").exists()
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review\nA fine film.\n")
    result = runner.invoke(app, ["batch", str(reviews), "-o", str(reviews)])
    assert result.exit_code == 2 and "is the input" in result.output
    assert reviews.read_text() == "review\nA fine film.\n"


def test_a_killed_runs_temporary_file_is_removed_by_the_next_run(tmp_path):
    reviews = tmp_path / "reviews.csv"
    reviews.write_text("review\nA fine film.\n")
    dead = tmp_path / ".out.csv.999999999.x1.partial"  # no such process
    live = tmp_path / f".out.csv.{os.getpid()}.x2.partial"  # a run still writing
    dead.write_text("half")
    live.write_text("half")
    single(reviews, tmp_path / "out.csv")
    assert not dead.exists() and live.exists()


@pytest.mark.parametrize("engine", ["local", "ray"])
def test_keep_columns_carries_input_columns_in_every_format(tmp_path, engine, request):
    if engine == "ray":
        request.getfixturevalue("ray_cluster")
    write_inputs(tmp_path / "in")
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"out-{fmt}"
        result = job(str(tmp_path / "in"), "-o", str(out), "--keep-columns", "all",
                     "--output-format", fmt, "--engine", engine)  # fmt: skip
        assert result.exit_code == 3, result.output
        rows = read_rows(out / f"a.{fmt}")
        assert list(rows[0]) == ["id", "score", "label", "error", "input_id", "review", "stars"]
        assert [r["review"] for r in rows] == REVIEWS
        assert [str(r["stars"]) for r in rows] == [str(i % 10) for i in range(len(REVIEWS))]
    result = job(str(tmp_path / "in" / "a.csv"), "-o", f"{tmp_path}/one/",
                 "--keep-columns", "stars,nope", "--engine", engine)  # fmt: skip
    assert result.exit_code == EXIT_FAILED_INPUTS
    assert "no column 'nope'" in manifest(tmp_path / "one")["inputs"][0]["error"]


def read_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with path.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


# -- the Ray engine --------------------------------------------------------------------------------


def test_ray_gives_the_local_engines_outputs_byte_for_byte(tmp_path, ray_cluster):
    write_inputs(tmp_path / "in")
    copies = Path(tempfile.gettempdir()).glob  # where the workers put their model copies
    before = set(copies("lstm-sentiment-model-*"))
    for engine in ("local", "ray"):
        for fmt in ("csv", "parquet"):
            result = job(str(tmp_path / "in"), "-o", str(tmp_path / f"{engine}-{fmt}"),
                         "--engine", engine, "--output-format", fmt)  # fmt: skip
            assert result.exit_code == 3, result.output
    for fmt in ("csv", "parquet"):
        for name in ("a", "b", "c"):
            local = read_rows(tmp_path / f"local-{fmt}" / f"{name}.{fmt}")
            assert read_rows(tmp_path / f"ray-{fmt}" / f"{name}.{fmt}") == local
    local = (tmp_path / "local-csv" / "a.csv").read_bytes()
    assert (tmp_path / "ray-csv" / "a.csv").read_bytes() == local
    workers = {e["worker"] for e in manifest(tmp_path / "ray-csv")["inputs"]}
    assert manifest(tmp_path / "ray-csv")["engine"] == "ray" and len(workers) >= 1
    assert set(copies("lstm-sentiment-model-*")) == before  # no copy left behind


def test_a_worker_killed_in_the_middle_of_a_file_loses_nothing(tmp_path, ray_cluster):
    inputs = write_inputs(tmp_path / "in", copies=400)  # about 17,000 reviews a file
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_a_worker_mid_file() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for partial in out.rglob(".*.partial") if out.exists() else []:
                pid = int(partial.name.split(".")[3])  # .NAME.EXT.PID.xxx.partial
                if pid == os.getpid():  # the driver's own manifest, saved as it goes
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    continue
                return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_mid_file)
    killer.start()
    result = job(str(tmp_path / "in"), "-o", str(out), "--engine", "ray")
    killer.join()
    assert killed, "no worker was caught in the middle of a file"
    assert result.exit_code == 3, result.output
    for path in inputs:
        expected = single(path, tmp_path / f"{path.stem}.single.csv")
        assert (out / f"{path.stem}.csv").read_bytes() == expected.read_bytes()
    assert all(e["status"] == "done" for e in manifest(out)["inputs"])
    assert not list(out.rglob(".*.partial"))  # the killed worker's was removed on the retry


def test_ray_data_pipelines_get_score_label_and_error_columns(ray_cluster):
    from lstm_sentiment.runtime.model import SentimentModel
    from lstm_sentiment.runtime.ray_engine import score_dataset

    dataset = ray_cluster.data.from_items(
        [{"review": text, "n": i} for i, text in enumerate(REVIEWS)]
    )
    rows = sorted(score_dataset(dataset, "review", "fp32").take_all(), key=lambda r: r["n"])
    expected = SentimentModel.load("fp32").score(REVIEWS[:-3])
    assert [r["n"] for r in rows] == list(range(len(REVIEWS)))
    assert max(abs(r["score"] - e) for r, e in zip(rows, expected, strict=False)) < 1e-6
    assert [r["error"] for r in rows[-3:-1]] == [
        "the review is empty",
        "the review has no words the model reads (ASCII letters or digits)",
    ]
    assert rows[-3]["score"] is None and rows[-3]["label"] is None


@pytest.mark.parametrize(
    ("resources", "provider", "files", "expected"),
    [
        ({"CPU": 8.0}, "auto", 100, WorkerPlan(8, 1, 0, "cpu")),
        ({"CPU": 8.0}, "auto", 3, WorkerPlan(3, 1, 0, "cpu")),
        ({"CPU": 16.0, "GPU": 2.0}, "auto", 100, WorkerPlan(2, 1, 1, "cuda")),
        ({"CPU": 16.0, "GPU": 2.0}, "cpu", 100, WorkerPlan(16, 1, 0, "cpu")),
        ({"CPU": 4.0, "GPU": 1.0}, "tensorrt", 5, WorkerPlan(1, 1, 1, "tensorrt")),
    ],
)
def test_workers_follow_the_clusters_cpus_and_gpus(resources, provider, files, expected):
    assert plan_workers(resources, provider, files) == expected


def test_a_gpu_provider_on_a_cluster_without_gpus_is_an_error():
    with pytest.raises(RayError, match="offers no GPU"):
        plan_workers({"CPU": 4.0}, "cuda", 3)


def test_the_ray_engine_without_ray_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "ray", None)
    (tmp_path / "a.csv").write_text("review\nA fine film.\n")
    result = job(str(tmp_path / "a.csv"), "-o", str(tmp_path / "out"), "--engine", "ray")
    assert result.exit_code == 2 and "pip install 'lstm-sentiment[ray]'" in result.output


# -- an S3-compatible store ------------------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch):
    """moto's S3 server on 127.0.0.1 and a bucket; s3fs finds it through the environment."""
    server_module = pytest.importorskip("moto.server", reason="needs the dev extra")
    s3fs = pytest.importorskip("s3fs", reason="needs the ray extra")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(key, value)
    s3fs.S3FileSystem.clear_instance_cache()
    fs = s3fs.S3FileSystem()
    fs.mkdir("reviews")
    yield fs
    s3fs.S3FileSystem.clear_instance_cache()
    server.stop()


def test_inputs_and_outputs_in_an_s3_bucket(tmp_path, s3):
    inputs = write_inputs(tmp_path / "in")
    for path in inputs:
        s3.put_file(str(path), f"reviews/in/{path.name}")
    result = job("s3://reviews/in/", "-o", "s3://reviews/out/")
    assert result.exit_code == 3, result.output
    for path in inputs:
        expected = single(path, tmp_path / f"{path.stem}.single.csv").read_bytes()
        assert s3.cat_file(f"reviews/out/{path.stem}.csv") == expected
    listed = json.loads(s3.cat_file("reviews/out/_manifest.json"))["inputs"]
    assert [e["input"] for e in listed] == [f"s3://reviews/in/{p.name}" for p in inputs]
    assert not [k for k in s3.find("reviews/out") if ".partial" in k]
    result = job("s3://reviews/in/", "-o", "s3://reviews/out/")  # all done: all skipped
    listed = json.loads(s3.cat_file("reviews/out/_manifest.json"))["inputs"]
    assert result.exit_code == 3 and all(e.get("resumed") for e in listed)


def test_a_base_install_without_fsspec_runs_local_jobs(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "fsspec.core", None)
    write_inputs(tmp_path / "in" / "sub")
    result = job(str(tmp_path / "in"), "-o", str(tmp_path / "out"))
    assert result.exit_code == 3, result.output
    assert (tmp_path / "out" / "sub" / "a.csv").is_file()
    assert job(str(tmp_path / "in" / "*" / "*.csv"), "-o", str(tmp_path / "g")).exit_code == 3
    assert (tmp_path / "g" / "sub" / "a.csv").is_file()
    result = job("s3://bucket/x/", "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "need fsspec" in result.output


def test_explanations_on_ray_are_the_local_engines_byte_for_byte(
    tmp_path, ray_cluster, tiny_models
):
    write_inputs(tmp_path / "in")
    model = str(tiny_models / "lstm-sentiment-text-int8.onnx")
    for engine in ("local", "ray"):
        result = job(str(tmp_path / "in"), "-o", str(tmp_path / engine), "--engine", engine,
                     "--explain", "2", "-m", model, "--output-format", "jsonl")  # fmt: skip
        assert result.exit_code == 3, result.output
    for name in ("a", "b", "c"):
        local = (tmp_path / "local" / f"{name}.jsonl").read_bytes()
        assert (tmp_path / "ray" / f"{name}.jsonl").read_bytes() == local
    first = json.loads((tmp_path / "ray" / "a.jsonl").read_text().splitlines()[0])
    assert len(first["explanation"]) == 2
