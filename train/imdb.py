"""Read the IMDb Large Movie Review Dataset (Maas et al., 2011) in its official layout.

The source is the official ``aclImdb_v1.tar.gz`` (read as a stream, never extracted) or an
extracted ``aclImdb/`` folder. Split, label, id and star rating come from the paths
``aclImdb/<train|test>/<pos|neg|unsup>/<id>_<rating>.txt``. Without a local copy the
archive is downloaded once into a cache folder and checked against the official MD5.

    from lstm_sentiment.train import imdb
    source = imdb.resolve_source(None)           # $LSTM_SENTIMENT_IMDB, cache, or download
    reviews = imdb.load_split(source, "test")    # 25,000 Review records
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import os
import re
import tarfile
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.console import Progress
from lstm_sentiment.runtime.errors import LstmSentimentError

OFFICIAL_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
OFFICIAL_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
ARCHIVE_NAME = "aclImdb_v1.tar.gz"
SOURCE_ENV = "LSTM_SENTIMENT_IMDB"
CACHE_ENV = "LSTM_SENTIMENT_CACHE"

SPLITS = ("train", "test", "unsup")
# (folder under aclImdb/, label folders, official count per label folder)
_LAYOUT = {
    "train": ("train", ("pos", "neg"), 12_500),
    "test": ("test", ("pos", "neg"), 12_500),
    "unsup": ("train", ("unsup",), 50_000),
}
_LABELS = {"pos": 1, "neg": 0, "unsup": None}
_MEMBER = re.compile(r"(?:\./)?(?:.*/)?aclImdb/(train|test)/(pos|neg|unsup)/(\d+)_(\d+)\.txt")


class DataError(LstmSentimentError):
    """The dataset cannot be found, read, or does not have the official layout."""


@dataclass(frozen=True)
class Review:
    """One review. ``id`` is unique across the dataset, e.g. ``test/pos/123``."""

    id: str
    split: str
    label: int | None  # 1 positive, 0 negative, None for the unlabelled split
    rating: int  # stars 1-10; 0 in the unlabelled split
    text: str

    @property
    def label_name(self) -> str:
        return {1: "positive", 0: "negative", None: ""}[self.label]


def cache_dir() -> Path:
    """Where a downloaded archive is kept: ``$LSTM_SENTIMENT_CACHE`` or the XDG cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lstm-sentiment"


def resolve_source(path: str | Path | None = None, *, download: bool = True) -> Path:
    """Find the dataset: ``path``, else ``$LSTM_SENTIMENT_IMDB``, else the cache (downloading
    into it when ``download`` is true)."""
    if path is None and os.environ.get(SOURCE_ENV):
        path = os.environ[SOURCE_ENV]
    if path is not None:
        source = Path(path).expanduser()
        if not source.exists():
            raise DataError(f"no IMDb dataset at {source}: the path does not exist")
        return source
    cached = cache_dir() / ARCHIVE_NAME
    if cached.is_file():
        return cached
    if not download:
        raise DataError(_where_to_put_it(cached, "it is not there"))
    return download_archive(cached)


def download_archive(
    target: Path, url: str = OFFICIAL_URL, md5: str = OFFICIAL_MD5, *, progress: bool = True
) -> Path:
    """Download the archive to ``target`` and verify its MD5; nothing is left on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=30) as response, atomic_output(target) as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress(f"downloading {url}", total, progress, in_bytes=True) as bar:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    bar.advance(len(chunk))
            if digest.hexdigest() != md5:
                raise DataError(
                    f"the download from {url} is corrupt (MD5 {digest.hexdigest()}, "
                    f"expected {md5}); nothing was saved. Try again."
                )
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise DataError(_where_to_put_it(target, f"downloading it failed ({error})")) from None
    return target


def _where_to_put_it(cached: Path, reason: str) -> str:
    return (
        f"the IMDb archive is needed but {reason}. Download {OFFICIAL_URL} yourself "
        f"(MD5 {OFFICIAL_MD5}) and either put it at {cached}, set {SOURCE_ENV} to its path, "
        "or pass its path (the archive or an extracted aclImdb folder) with --data."
    )


def iter_split(source: str | Path, split: str) -> Iterator[Review]:
    """Yield the reviews of one split in the order they are stored (unsorted)."""
    if split not in _LAYOUT:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    folder, labels, _ = _LAYOUT[split]
    wanted = {(folder, label) for label in labels}
    for rel, read in _iter_files(Path(source)):
        match = _MEMBER.fullmatch(rel)
        if not match or (match[1], match[2]) not in wanted:
            continue
        raw = read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"{rel} in {source} is not UTF-8 text ({error})") from None
        label_folder, file_id, rating = match[2], match[3], int(match[4])
        yield Review(
            f"{split}/{label_folder}/{file_id}", split, _LABELS[label_folder], rating, text
        )


def load_split(source: str | Path, split: str, *, check_counts: bool = True) -> list[Review]:
    """All reviews of a split, sorted by label folder and numeric id, after a layout check.

    The check always requires every label folder of the split to hold reviews and every
    star rating to fit its label (pos >= 7, neg <= 4, unsup 0); ``check_counts`` also
    requires the official counts (12,500 per label; 50,000 unlabelled).
    """
    reviews = list(iter_split(source, split))
    _check_layout(reviews, source, split, check_counts)
    return sorted(reviews, key=lambda r: (-1 if r.label is None else -r.label, _numeric_id(r)))


def _numeric_id(review: Review) -> int:
    return int(review.id.rsplit("/", 1)[1])


def _check_layout(reviews: list[Review], source: str | Path, split: str, counts: bool) -> None:
    folder, labels, official = _LAYOUT[split]
    found = Counter(r.id.split("/")[1] for r in reviews)
    if not reviews:
        raise DataError(
            f"no reviews of the {split!r} split in {source}: expected files like "
            f"aclImdb/{folder}/{labels[0]}/0_{'0' if split == 'unsup' else '9'}.txt "
            "(is this the IMDb archive or an extracted aclImdb folder?)"
        )
    for label in labels:
        if found[label] == 0:
            raise DataError(f"the {split!r} split in {source} has no reviews in {folder}/{label}")
        if counts and found[label] != official:
            raise DataError(
                f"{folder}/{label} in {source} holds {found[label]} reviews, the official "
                f"archive {official}; pass a complete copy (or turn the count check off)"
            )
    ids = Counter(r.id for r in reviews)
    duplicated = [review_id for review_id, n in ids.items() if n > 1]
    if duplicated:
        raise DataError(
            f"{source} holds {len(duplicated)} review ids twice (e.g. {duplicated[0]}): "
            "each <id>_<rating>.txt id must be unique within its folder"
        )
    for review in reviews:
        ok = {1: review.rating >= 7, 0: 1 <= review.rating <= 4, None: review.rating == 0}
        if not ok[review.label]:
            raise DataError(
                f"{review.id} in {source} has rating {review.rating}, which does not fit its "
                "folder (pos >= 7, neg <= 4, unsup 0)"
            )


def _iter_files(source: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    if source.is_dir():
        yield from _iter_folder(source)
    elif source.is_file():
        yield from _iter_archive(source)
    else:
        raise DataError(f"no IMDb dataset at {source}")


def _iter_folder(source: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    # Accept the aclImdb folder itself or any folder that contains it.
    root = source if source.name == "aclImdb" else source / "aclImdb"
    if not root.is_dir():
        raise DataError(
            f"{source} is a folder but holds no aclImdb/ folder: pass the archive, the "
            "extracted aclImdb folder, or the folder that contains it"
        )
    for path in sorted(root.glob("*/*/*.txt")):
        rel = "aclImdb/" + path.relative_to(root).as_posix()
        yield rel, lambda path=path: _read_file(path)


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error}") from None


def _iter_archive(source: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    try:
        with source.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            # tarfile's stream mode stops quietly at a cut-off gzip stream; reading the gzip
            # stream ourselves to its end turns a truncated download into an error.
            stream = gzip.GzipFile(fileobj=raw) if gzipped else raw
            with tarfile.open(fileobj=stream, mode="r|" if gzipped else "r|*") as archive:
                for member in archive:
                    if not member.isfile():
                        continue
                    data = archive.extractfile(member)
                    if data is None:
                        continue
                    content = data.read()
                    yield member.name, lambda content=content: content
            while stream.read(1 << 20):
                pass
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DataError(
            f"{source} is not a readable IMDb archive (a .tar.gz of the aclImdb folder): "
            f"{error or type(error).__name__}"
        ) from None


def write_csv(reviews: Iterable[Review], path: str | Path) -> int:
    """Write ``id,rating,label,review`` rows (label ``positive``/``negative``, empty when
    unlabelled) atomically; returns the number of rows written."""
    rows = 0
    with atomic_output(Path(path), text=True) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "rating", "label", "review"])
        for review in reviews:
            writer.writerow([review.id, review.rating, review.label_name, review.text])
            rows += 1
    return rows
