"""The IMDb loader on small made-up datasets in the official layout, and its download."""

from __future__ import annotations

import csv
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from lstm_sentiment.train import imdb
from tests.conftest import tiny_layout, write_archive, write_folder


def test_archive_gives_split_label_rating_and_id_from_the_path(tiny_archive):
    reviews = imdb.load_split(tiny_archive, "train", check_counts=False)
    assert len(reviews) == 12
    first = reviews[0]
    assert first.id == "train/pos/0" and first.split == "train"
    assert first.label == 1 and first.rating == 7 and first.label_name == "positive"
    negatives = [r for r in reviews if r.label == 0]
    assert len(negatives) == 6 and all(1 <= r.rating <= 4 for r in negatives)
    assert {r.id for r in negatives} == {f"train/neg/{i}" for i in range(6)}


def test_reviews_are_sorted_positive_first_then_by_numeric_id(tmp_path):
    files = tiny_layout(per_label=12)
    reviews = imdb.load_split(
        write_archive(tmp_path / "a.tar.gz", files), "test", check_counts=False
    )
    ids = [r.id for r in reviews]
    assert ids[:3] == ["test/pos/0", "test/pos/1", "test/pos/2"]
    assert ids.index("test/pos/10") == 10  # numeric, not "1", "10", "11", "2"


def test_folder_and_archive_give_the_same_reviews(tmp_path):
    files = tiny_layout()
    archive = write_archive(tmp_path / "a.tar.gz", files)
    folder = write_folder(tmp_path / "x", files)
    for split in imdb.SPLITS:
        from_archive = imdb.load_split(archive, split, check_counts=False)
        assert imdb.load_split(folder, split, check_counts=False) == from_archive
        # The folder that contains aclImdb/ works as well as aclImdb/ itself.
        assert imdb.load_split(folder.parent, split, check_counts=False) == from_archive


def test_unsup_split_is_unlabelled_with_rating_zero(tiny_archive):
    reviews = imdb.load_split(tiny_archive, "unsup", check_counts=False)
    assert len(reviews) == 4
    assert all(r.label is None and r.rating == 0 and r.label_name == "" for r in reviews)


def test_review_text_is_kept_exactly_as_stored(tmp_path):
    files = tiny_layout()
    files["aclImdb/test/pos/0_7.txt"] = "Ünïcode “quotes”<br />\r\nline".encode()
    archive = write_archive(tmp_path / "a.tar.gz", files)
    review = imdb.load_split(archive, "test", check_counts=False)[0]
    assert review.text == "Ünïcode “quotes”<br />\r\nline"


def test_official_counts_are_checked_by_default(tiny_archive):
    with pytest.raises(imdb.DataError, match="holds 6 reviews, the official archive 12500"):
        imdb.load_split(tiny_archive, "train")


def test_a_folder_without_the_layout_is_refused(tmp_path):
    (tmp_path / "somewhere").mkdir()
    with pytest.raises(imdb.DataError, match="holds no aclImdb/ folder"):
        imdb.load_split(tmp_path / "somewhere", "train")


def test_an_archive_without_the_layout_is_refused(tmp_path):
    archive = write_archive(tmp_path / "other.tar.gz", {"photos/cat.txt": b"meow"})
    with pytest.raises(imdb.DataError, match="no reviews of the 'train' split"):
        imdb.load_split(archive, "train", check_counts=False)


def assert_refused(tmp_path, files, split, match):
    archive = write_archive(tmp_path / "a.tar.gz", files)
    with pytest.raises(imdb.DataError, match=match):
        imdb.load_split(archive, split, check_counts=False)


def test_an_empty_label_folder_is_refused(tmp_path):
    files = {k: v for k, v in tiny_layout().items() if "/test/neg/" not in k}
    assert_refused(tmp_path, files, "test", "no reviews in test/neg")


def test_a_rating_that_contradicts_its_folder_is_refused(tmp_path):
    files = {**tiny_layout(), "aclImdb/train/pos/99_2.txt": b"mislabelled"}
    assert_refused(tmp_path, files, "train", "train/pos/99 .* rating 2")


def test_an_id_stored_twice_is_refused(tmp_path):
    files = {**tiny_layout(), "aclImdb/train/pos/0_10.txt": b"same id as 0_7.txt"}
    assert_refused(tmp_path, files, "train", "ids twice .*train/pos/0")


def test_a_corrupt_archive_is_a_data_error(tmp_path):
    bad = tmp_path / "aclImdb_v1.tar.gz"
    bad.write_bytes(b"this is not a gzip file at all" * 10)
    with pytest.raises(imdb.DataError, match="not a readable IMDb archive"):
        imdb.load_split(bad, "train")


def test_a_truncated_archive_is_a_data_error(tiny_archive):
    data = tiny_archive.read_bytes()
    tiny_archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(imdb.DataError, match="not a readable IMDb archive"):
        imdb.load_split(tiny_archive, "train", check_counts=False)


def test_a_review_that_is_not_utf8_is_named(tmp_path):
    files = tiny_layout()
    files["aclImdb/train/neg/77_1.txt"] = b"caf\xe9"
    with pytest.raises(imdb.DataError, match=r"train/neg/77_1\.txt .* not UTF-8"):
        imdb.load_split(write_archive(tmp_path / "a.tar.gz", files), "train", check_counts=False)


def test_unknown_split_is_refused(tiny_archive):
    with pytest.raises(imdb.DataError, match="unknown split 'dev'"):
        imdb.load_split(tiny_archive, "dev")


def test_resolve_prefers_the_given_path_then_the_environment(tmp_path, monkeypatch, tiny_archive):
    monkeypatch.setenv(imdb.SOURCE_ENV, str(tiny_archive))
    assert imdb.resolve_source(None) == tiny_archive
    assert imdb.resolve_source(tmp_path) == tmp_path
    with pytest.raises(imdb.DataError, match="does not exist"):
        imdb.resolve_source(tmp_path / "nope.tar.gz")


def test_without_a_copy_or_download_the_message_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.SOURCE_ENV, raising=False)
    monkeypatch.setenv(imdb.CACHE_ENV, str(tmp_path / "cache"))
    with pytest.raises(imdb.DataError) as error:
        imdb.resolve_source(None, download=False)
    message = str(error.value)
    assert str(tmp_path / "cache" / imdb.ARCHIVE_NAME) in message
    assert imdb.OFFICIAL_URL in message and imdb.SOURCE_ENV in message


def test_the_cached_copy_is_used_when_present(tmp_path, monkeypatch):
    monkeypatch.delenv(imdb.SOURCE_ENV, raising=False)
    monkeypatch.setenv(imdb.CACHE_ENV, str(tmp_path))
    cached = write_archive(tmp_path / imdb.ARCHIVE_NAME, tiny_layout())
    assert imdb.resolve_source(None, download=False) == cached


class _Server:
    """Serves one file on loopback for the download tests."""

    def __init__(self, payload: bytes) -> None:
        payload_bytes = payload

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload_bytes)))
                self.end_headers()
                self.wfile.write(payload_bytes)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/aclImdb_v1.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_download_verifies_the_md5_and_lands_the_file(tmp_path, tiny_archive):
    payload = tiny_archive.read_bytes()
    target = tmp_path / "cache" / imdb.ARCHIVE_NAME
    with _Server(payload) as server:
        imdb.download_archive(target, server.url, hashlib.md5(payload).hexdigest(), progress=False)
    assert target.read_bytes() == payload
    assert len(imdb.load_split(target, "test", check_counts=False)) == 12


def test_a_download_with_the_wrong_md5_leaves_nothing_behind(tmp_path):
    target = tmp_path / "cache" / imdb.ARCHIVE_NAME
    with _Server(b"tampered bytes") as server, pytest.raises(imdb.DataError, match="corrupt"):
        imdb.download_archive(target, server.url, imdb.OFFICIAL_MD5, progress=False)
    assert list(target.parent.iterdir()) == []


def test_an_unreachable_server_says_where_to_put_the_file(tmp_path):
    target = tmp_path / imdb.ARCHIVE_NAME
    with pytest.raises(imdb.DataError, match="downloading it failed") as error:
        imdb.download_archive(target, "http://127.0.0.1:9/aclImdb_v1.tar.gz", progress=False)
    assert str(target) in str(error.value)
    assert not target.exists()


def test_write_csv_round_trips_every_review_exactly(tmp_path):
    files = tiny_layout()
    files["aclImdb/test/neg/0_1.txt"] = b'Quote " comma , newline\nand CRLF\r\n<br />end'
    reviews = imdb.load_split(
        write_archive(tmp_path / "a.tar.gz", files), "test", check_counts=False
    )
    out = tmp_path / "test.csv"
    assert imdb.write_csv(reviews, out) == len(reviews)
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [r.id for r in reviews]
    assert [r["review"] for r in rows] == [r.text for r in reviews]
    assert [r["label"] for r in rows] == [r.label_name for r in reviews]
    assert [int(r["rating"]) for r in rows] == [r.rating for r in reviews]


def test_real_archive_has_the_official_layout(imdb_archive):
    for split, count in (("train", 25_000), ("test", 25_000), ("unsup", 50_000)):
        reviews = imdb.load_split(imdb_archive, split)  # counts and ratings checked inside
        assert len(reviews) == count
        assert len({r.id for r in reviews}) == count


def test_real_archive_reviews_have_text_and_line_breaks(imdb_archive):
    reviews = imdb.load_split(imdb_archive, "test")
    assert all(r.text.strip() for r in reviews)
    assert sum("<br />" in r.text for r in reviews) > 10_000
    assert Path(imdb_archive).stat().st_size > 50_000_000


def test_an_unreadable_review_file_is_named(tmp_path):
    folder = write_folder(tmp_path / "x", tiny_layout())
    (folder / "train" / "pos" / "50_9.txt").mkdir()  # a folder where a review should be
    with pytest.raises(imdb.DataError, match=r"cannot read .*50_9\.txt"):
        imdb.load_split(folder, "train", check_counts=False)
