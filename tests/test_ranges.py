"""One big file as ranges: read range by range, a file gives the same records (rows, lines,
ids, errors) as read whole; scored range by range and joined, the same bytes; on Ray, every
worker gets a part of one file, and a rerun redoes only the ranges that are missing."""

from __future__ import annotations

import csv
import dataclasses
import gzip
import itertools
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lstm_sentiment.runtime.batch import BatchOptions, score_file
from lstm_sentiment.runtime.jobs import Task, score_range, split_entry
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.ranges import parts_folder, plan_ranges, why_not_split
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions, open_input
from tests.conftest import synthetic_review
from tests.test_scale_out import job, manifest, single

WORDS = ["good", "bad", "fine", "dull", "line\nbreak", 'a "quote"', "x,y", "é", "<br />", "😀"]


def texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25))) for _ in range(n)]


def records(spec: InputSpec) -> list[tuple]:
    with open_input(spec) as source:
        return [dataclasses.astuple(r) for r in source]


def by_ranges(spec: InputSpec, range_bytes: int, window: int = 4) -> list[tuple]:
    ranges = plan_ranges(spec, range_bytes, window)
    assert len(ranges) > 2
    return [r for part in ranges for r in records(dataclasses.replace(spec, span=part.span))]


def write_csv(path: Path, rows: list[list[str]], header: list[str], bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_csv_ranges_never_cut_a_quoted_newline_and_keep_rows_lines_and_ids(tmp_path):
    # Every review holds a quoted newline, so a cut by bytes alone would land inside one.
    reviews = [t + "\nand more" for t in texts(300)]
    path = write_csv(tmp_path / "a.csv", [[f"r{i}", t] for i, t in enumerate(reviews)],
                     ["id", "review"], bom=True)  # fmt: skip
    with path.open("a", encoding="utf-8") as out:
        out.write('short,row,here\n\n"blank above"\n')  # errors keep their line numbers too
    spec = InputSpec(str(path))
    whole = records(spec)
    assert by_ranges(spec, 500) == whole
    ranges = plan_ranges(spec, 500, 4)
    assert all(r.span.rows % 4 == 0 for r in ranges)  # every range starts at a window's edge
    assert ranges[-1].span.end == path.stat().st_size


def test_json_lines_and_text_ranges_keep_blank_and_bad_lines_in_place(tmp_path):
    lines = ["not json", *[json.dumps({"id": i, "review": t}) for i, t in enumerate(texts(200))]]
    lines[50:50] = ["", "[1, 2]", ""]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n\n\n", encoding="utf-8")
    spec = InputSpec(str(tmp_path / "a.jsonl"))
    assert by_ranges(spec, 300) == records(spec)
    plain = [t.replace("\n", " ") for t in texts(200, seed=1)]
    plain[30:30] = ["", "  "]
    (tmp_path / "a.txt").write_text("\n".join(plain) + "\n\n", encoding="utf-8")
    spec = InputSpec(str(tmp_path / "a.txt"))
    assert by_ranges(spec, 300) == records(spec)


def test_the_first_json_object_names_the_fields_in_every_range(tmp_path):
    # The id field is found in the first object; a later range must know it without seeing it.
    lines = [json.dumps({"Review": t, "ID": f"k{i}"}) for i, t in enumerate(texts(120))]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = InputSpec(str(tmp_path / "a.jsonl"), ReadOptions(keep_columns=("ID",)))
    ranged = by_ranges(spec, 200)
    assert ranged == records(spec) and ranged[-1][2] == "k119"


def test_parquet_ranges_cut_by_rows_across_row_groups(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    reviews = texts(500)
    table = pa.table({"review": reviews, "n": list(range(500))})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=37)
    spec = InputSpec(str(tmp_path / "a.parquet"), ReadOptions(keep_columns=("n",)))
    assert by_ranges(spec, 2000) == records(spec)


def test_a_range_can_hold_one_huge_record_and_a_last_range_none(tmp_path):
    reviews = [t.replace("\n", " ") for t in texts(100)]
    reviews[40] = "good " * 400_000  # 2 MB in one record
    path = tmp_path / "a.txt"
    path.write_text("\n".join(reviews) + "\n" + "\n" * 5000, encoding="utf-8")
    spec = InputSpec(str(path))
    ranges = plan_ranges(spec, 100, 4)
    assert by_ranges(spec, 100) == records(spec)
    sizes = [len(records(dataclasses.replace(spec, span=r.span))) for r in ranges]
    huge = next(i for i, r in enumerate(ranges) if r.span.end - r.span.start > 2_000_000)
    assert sizes[huge] == 4 and sizes[-1] == 0  # trailing blank lines only: no records


def test_ranges_scored_and_joined_are_the_whole_files_bytes_for_int8(tmp_path):
    reviews = [synthetic_review(i % 2, i) for i in range(2500)] + ["", "!!!"] + texts(500)
    path = write_csv(tmp_path / "a.csv", [[f"r{i}", t, str(i)] for i, t in enumerate(reviews)],
                     ["id", "review", "n"])  # fmt: skip
    model = SentimentModel.load("int8", "cpu", threads=1)
    # Windows of 512, then 1,024: a range that started its schedule afresh would batch
    # (and, in int8, score) differently.
    options = BatchOptions("int8", window=1024, workers=1)
    read = ReadOptions(keep_columns=("n",))
    whole = tmp_path / "whole.csv"
    score_file(InputSpec(str(path), read), str(whole), options, model)
    out = tmp_path / "out" / "a.csv"
    task = Task(str(path), str(out), {})
    ranges = plan_ranges(InputSpec(str(path), read), 20_000, options.window)
    assert [r.span.rows for r in ranges] == [0, 512, 1536, 2560]
    assert [r.first_window for r in ranges] == [512, 1024, 1024, 1024]
    results = [score_range(task, r, read, options, "csv", model) for r in reversed(ranges)]
    entry = split_entry(task, results[::-1])
    assert entry["status"] == "done" and entry["records"] == len(reviews)
    assert out.read_bytes() == whole.read_bytes()
    assert not Path(parts_folder(str(out))).exists()


def test_files_that_cannot_be_split_stay_one_task(tmp_path):
    big = 1 << 10
    path = write_csv(tmp_path / "a.csv", [[str(i), t] for i, t in enumerate(texts(200))],
                     ["id", "review"])  # fmt: skip
    zipped = tmp_path / "a.csv.gz"
    zipped.write_bytes(gzip.compress(path.read_bytes()))
    wide = tmp_path / "w.csv"
    wide.write_bytes(path.read_text().encode("utf-16"))
    out = str(tmp_path / "o.csv")
    read = ReadOptions()
    assert why_not_split(str(path), out, read, "csv", big) == ""
    assert why_not_split(str(zipped), out, read, "csv", big) == "compressed"
    assert why_not_split(str(wide), out, read, "csv", big) == "a UTF-16 or UTF-32 file"
    assert why_not_split(str(path), out, read, "parquet", big) == "parquet output"
    assert why_not_split("s3://b/a.csv", out, read, "csv", big) == "a remote file"
    assert "not over the range size" in why_not_split(str(path), out, read, "csv", 1 << 30)
    keep_all = ReadOptions(keep_columns="all")
    (tmp_path / "a.jsonl").write_text('{"review": "good"}\n' * 200)
    assert why_not_split(str(tmp_path / "a.jsonl"), out, keep_all, "csv", 100) != ""


# -- on Ray -----------------------------------------------------------------------------------


def big_file(folder: Path, n: int = 3000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    reviews = [synthetic_review(i % 2, i) if i % 7 else t for i, t in enumerate(texts(n))]
    return write_csv(folder / "big.csv", [[f"r{i}", t] for i, t in enumerate(reviews)],
                     ["id", "review"])  # fmt: skip


@pytest.fixture(params=[False, True], ids=["workers only", "driver too"])
def driver_too(request, monkeypatch, ray_cluster):
    """Ray's workers alone, or, as when this process starts the instance itself, this
    process scoring beside one worker fewer (the cluster here is the tests' own)."""
    from lstm_sentiment.runtime import ray_engine

    if request.param:
        monkeypatch.setattr(ray_engine, "starts_local_instance", lambda address: True)
        monkeypatch.setattr(ray_engine, "local_cpus", lambda: 2)
    return request.param


def test_one_big_file_is_scored_by_every_worker_into_the_same_bytes(tmp_path, driver_too):
    path = big_file(tmp_path / "in")
    expected = single(path, tmp_path / "single.csv", "--model", "int8", "--window", "512")
    out = tmp_path / "out"
    result = job(str(path), "-o", str(out), "--engine", "ray", "--model", "int8",
                 "--window", "512", "--range-mb", "0.05")  # fmt: skip
    assert result.exit_code in (0, 3), result.output
    assert (out / "big.csv").read_bytes() == expected.read_bytes()
    (entry,) = manifest(out)["inputs"]
    assert entry["status"] == "done" and len(entry["ranges"]) > 2
    workers = {r["worker"] for r in entry["ranges"]}
    assert len(workers) == 2  # both workers had a part
    here = f"{os.uname().nodename}:{os.getpid()}"
    assert (here in workers) is driver_too  # with the driver, it is one of the two
    assert not list(out.glob("_*.parts"))  # the parts are gone once joined


def test_a_rerun_redoes_only_the_ranges_an_interrupted_run_left(tmp_path, ray_cluster):
    path = big_file(tmp_path / "in")
    expected = single(path, tmp_path / "single.csv")
    out = tmp_path / "out"
    first = job(str(path), "-o", str(out), "--engine", "ray", "--range-mb", "0.05")
    assert first.exit_code in (0, 3), first.output
    # As a run stopped after some ranges leaves it: their parts, and the manifest saying so.
    book = manifest(out)
    (entry,) = book["inputs"]
    task = Task(str(path), str(out / "big.csv"), {})
    model = SentimentModel.load("fp32", "cpu", threads=1)
    from lstm_sentiment.runtime.ranges import Range

    ranges = [Range.from_dict(r) for r in entry["ranges"]]
    left = {1, len(ranges) - 1}
    results = [
        r.as_dict() if r.index in left else score_range(task, r, ReadOptions(), BatchOptions(),
                                                         "csv", model)
        for r in ranges
    ]  # fmt: skip
    (out / "big.csv").unlink()
    entry |= {"status": "partial", "ranges": results}
    (out / "_manifest.json").write_text(json.dumps(book))
    again = job(str(path), "-o", str(out), "--engine", "ray", "--range-mb", "0.05")
    assert again.exit_code in (0, 3), again.output
    assert (out / "big.csv").read_bytes() == expected.read_bytes()
    (entry,) = manifest(out)["inputs"]
    redone = {r["index"] for r in entry["ranges"] if not r.get("resumed")}
    assert entry["status"] == "done" and redone == left
    entry |= {"status": "partial"}  # as before, but --no-resume redoes every range
    (out / "_manifest.json").write_text(json.dumps(manifest(out) | {"inputs": [entry]}))
    fresh = job(str(path), "-o", str(out), "--engine", "ray", "--range-mb", "0.05", "--no-resume")
    assert fresh.exit_code in (0, 3), fresh.output
    (entry,) = manifest(out)["inputs"]
    assert entry["status"] == "done" and not any(r.get("resumed") for r in entry["ranges"])
    assert (out / "big.csv").read_bytes() == expected.read_bytes()


def test_a_file_whose_reading_fails_fails_alone_and_is_named(tmp_path, driver_too):
    good = big_file(tmp_path / "in")
    bad = tmp_path / "in" / "bad.csv"
    bad.write_bytes(good.read_bytes() + b'r9,"a quote left open\n')
    small = tmp_path / "in" / "small.csv"
    small.write_text("id,review\na,good fun\nb,so dull\n")
    out = tmp_path / "out"
    result = job(str(tmp_path / "in"), "-o", str(out), "--engine", "ray", "--range-mb", "0.05")
    assert result.exit_code != 0
    entries = {Path(e["input"]).name: e for e in manifest(out)["inputs"]}
    assert entries["big.csv"]["status"] == entries["small.csv"]["status"] == "done"
    assert (out / "small.csv").read_text().count("\n") == 3  # a whole file, not a range
    assert entries["bad.csv"]["status"] == "failed" and "quote" in entries["bad.csv"]["error"]
    assert not (out / "bad.csv").exists()


def test_only_a_job_that_starts_its_own_instance_scores_in_this_process(monkeypatch):
    pytest.importorskip("ray", reason="needs the ray extra")
    from lstm_sentiment.runtime import ray_engine

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    started = ray_engine._ray().is_initialized()
    assert ray_engine.starts_local_instance(None) is not started
    assert not ray_engine.starts_local_instance("auto")
    assert not ray_engine.starts_local_instance("ray://head:10001")
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:6379")
    assert not ray_engine.starts_local_instance(None)
    assert ray_engine.local_cpus() >= 1


@pytest.fixture
def ray_inits(monkeypatch):
    """The keyword arguments of each ``ray.init`` that ``connect`` makes, with no Ray
    started and no ``RAY_ADDRESS``."""
    from lstm_sentiment.runtime import ray_engine

    calls = []

    class FakeRay:
        def is_initialized(self):
            return False

        def init(self, **kwargs):
            calls.append(kwargs)

    monkeypatch.setattr(ray_engine, "_ray", FakeRay)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return calls


def test_an_instance_a_job_starts_gets_a_small_object_store(ray_inits):
    from lstm_sentiment.runtime import ray_engine

    calls = ray_inits
    ray_engine.connect(None, model_bytes=6 << 20)
    ray_engine.connect(None, model_bytes=200 << 20)
    ray_engine.connect("ray://head:10001")  # a cluster's store is the cluster's own
    stores = [c.get("object_store_memory") for c in calls]
    assert stores == [ray_engine.LOCAL_OBJECT_STORE, 800 << 20, None]
    # its workers are the job's scorers: not niced below this process (Ray's default is 15)
    assert [c.get("_system_config") for c in calls] == [{"worker_niceness": 0}] * 2 + [None]


def test_an_instance_a_job_starts_leaves_the_driver_its_core(ray_inits, monkeypatch):
    from lstm_sentiment.runtime import ray_engine

    for cpus in (1, 2, 8):
        monkeypatch.setattr(ray_engine, "local_cpus", lambda cpus=cpus: cpus)
        ray_engine.connect(None, reserve=1)
    ray_engine.connect(None)  # no driver scoring: Ray counts the CPUs itself
    ray_engine.connect("ray://head:10001", reserve=1)  # a cluster's CPUs are its own
    assert [c.get("num_cpus") for c in ray_inits] == [1, 1, 7, None, None]


@pytest.mark.parametrize(
    ("workers", "driving", "units", "cpus", "expected"),
    [
        (1, True, 100, 2, 1),  # 2 cores: the driver and one actor
        (7, True, 100, 8, 7),
        (7, True, 3, 8, 2),  # 3 units: the driver's and two more
        (1, True, 1, 2, 0),  # one unit: the driver alone
        (1, True, 100, 1, 0),  # one core: the driver alone
        (4, False, 100, 2, 4),  # a cluster's workers are the plan's
    ],
)
def test_the_actors_are_the_workers_beside_the_driver(workers, driving, units, cpus, expected):
    from lstm_sentiment.runtime import ray_engine

    plan = ray_engine.WorkerPlan(workers, 1, 0, "cpu")
    assert ray_engine.actor_count(plan, driving, units, cpus) == expected


def test_the_range_size_must_be_positive(tmp_path):
    result = job(str(tmp_path), "-o", str(tmp_path / "o"), "--engine", "ray", "--range-mb", "0")
    assert result.exit_code == 2 and "range-mb" in result.output


def test_split_entry_names_the_failed_range():
    task = Task("in.csv", "out.csv", {})
    results = [
        {"index": 0, "start": 10, "end": 99, "status": "done", "records": 1, "scored": 1,
         "errors": 0, "first_errors": [], "provider": "cpu"},
        {"index": 1, "start": 99, "end": 200, "status": "failed", "error": "line 7: bad"},
    ]  # fmt: skip
    entry = split_entry(task, results)
    assert entry["status"] == "failed" and entry["error"].startswith("range 2 of 2 (bytes")
    assert "line 7: bad" in entry["error"]
    assert split_entry(task, [results[0], {"index": 1}])["status"] == "partial"


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
def test_ranges_come_in_multiples_of_the_workers_and_share_the_file_evenly(tmp_path, workers):
    # 2,000 records of about the same size, windows of 8 (the first ones smaller)
    reviews = [f"review {i:05d} " + "word " * 20 for i in range(2000)]
    path = write_csv(tmp_path / "a.csv", [[str(i), t] for i, t in enumerate(reviews)],
                     ["id", "review"])  # fmt: skip
    size = path.stat().st_size
    ranges = plan_ranges(InputSpec(str(path)), size // 5, 8, workers)
    assert len(ranges) % workers == 0 and len(ranges) >= 5
    counts = [b.span.rows - a.span.rows for a, b in itertools.pairwise(ranges)]
    counts.append(2000 - ranges[-1].span.rows)
    share = 2000 / len(ranges)
    assert max(abs(c - share) for c in counts) <= 8  # within one window of an equal share
    # each cut is the window edge nearest its equal share of the bytes: within half a window
    lines = path.read_bytes().splitlines(keepends=True)[1:]  # with their CRLF
    first, longest = ranges[0].span.start, max(map(len, lines))
    targets = [first + (size - first) * k // len(ranges) for k in range(len(ranges))]
    assert all(abs(r.span.start - t) <= 4 * longest for r, t in zip(ranges, targets, strict=True))
    assert by_ranges(InputSpec(str(path)), size // 5, 8) == records(InputSpec(str(path)))


def test_range_count_rounds_to_the_workers():
    from lstm_sentiment.runtime.ranges import range_count

    assert [range_count(s, 32, 1) for s in (33, 40, 50, 100, 133)] == [1, 1, 2, 3, 4]
    # at least 16 a worker, so that workers starting apart even out on the queue
    assert [range_count(s, 32, 2) for s in (33, 100, 1000, 1100, 1200)] == [32, 32, 32, 34, 38]
    assert range_count(133, 32, 3) == 48
    assert range_count(100 * 32 + 1, 32, 3) == 102


def test_an_instance_a_job_started_runs_its_workers_unniced_and_stops_at_once(tmp_path):
    # ray.shutdown stops the GCS before the autoscaler monitor, whose SIGTERM handler then
    # waits on it for a second: the job's exit hook kills the monitor first, then shuts Ray
    # down itself. Run in a fresh process: this one may already have joined the fixture
    # cluster.
    pytest.importorskip("ray", reason="needs the ray extra")
    script = tmp_path / "stop.py"
    script.write_text(
        textwrap.dedent(
            """
            import os
            from ray._private import worker
            from lstm_sentiment.runtime import ray_engine
            os.environ.pop("RAY_ADDRESS", None)
            ray = ray_engine.connect(None, model_bytes=1 << 20, reserve=1)
            cpus = ray_engine.local_cpus()
            assert ray.cluster_resources()["CPU"] == max(1, cpus - 1)
            niceness = ray.get(ray.remote(lambda: os.nice(0)).remote())
            assert niceness == os.nice(0), ("worker niced", niceness)
            monitors = worker._global_node.all_processes["monitor"]
            assert monitors and all(m.process.poll() is None for m in monitors)
            ray_engine._stop_own_instance()
            assert all(m.process.poll() is not None for m in monitors), "monitor alive"
            assert not ray.is_initialized()
            print("stopped", len(monitors))
            """
        )
    )
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stopped 1" in done.stdout


def test_only_an_instance_a_job_starts_gets_the_exit_hook(ray_inits, monkeypatch):
    from lstm_sentiment.runtime import ray_engine

    hooks = []
    monkeypatch.setattr(ray_engine.atexit, "register", hooks.append)
    ray_engine.connect("ray://head:10001")
    assert hooks == []  # a cluster's processes are not this job's to stop
    ray_engine.connect(None)
    assert hooks == [ray_engine._stop_own_instance]


def test_the_workers_get_the_longest_units_first(tmp_path):
    # Units are handed out as workers free up: the last ones decide how long the others sit
    # idle at the end, so they should be the short ones.
    from lstm_sentiment.runtime import ray_engine
    from lstm_sentiment.runtime.jobs import JobOptions

    reviews = [f"review {i:05d} " + "word " * (5 + i % 40) for i in range(3000)]
    big = write_csv(tmp_path / "big.csv", [[str(i), t] for i, t in enumerate(reviews)],
                    ["id", "review"])  # fmt: skip
    small = [Task(f"f{n}.csv", f"o{n}.csv", {"size": n * 1000}) for n in (3, 9, 1)]
    split = Task(str(big), str(tmp_path / "out.csv"), {"size": big.stat().st_size})
    options = JobOptions(batch=BatchOptions(window=64), range_mb=big.stat().st_size / 6 / (1 << 20))
    edges = {split.input: _done(ray_engine._window_edges(split.input, options))}
    units, settled = ray_engine._units([*small, split], {split.input}, options, {}, edges, 2)
    assert not settled
    parts = [u[1] for u in units if u[1] is not None]
    total = sum(p.span.end - p.span.start for p in parts)
    sizes = [ray_engine._bytes(u, {split.input: total}) for u in units]
    assert sizes == sorted(sizes, reverse=True)
    assert len(parts) >= 6
    spans = [p.span.end - p.span.start for p in parts]
    assert spans == sorted(spans, reverse=True) and len(set(spans)) > 1
    assert sorted(p.index for p in parts) == list(range(len(parts)))  # none lost or twice
    assert [u[0].input for u in units if u[1] is None] == ["f9.csv", "f3.csv", "f1.csv"]


def _done(value):
    from concurrent.futures import Future

    future = Future()
    future.set_result(value)
    return future
