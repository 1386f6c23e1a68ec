"""Shared fixtures: the real IMDb archive (required under CI) and tiny made-up datasets."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_ARCHIVE = REPO.parent / "shared" / "data" / "aclImdb_v1.tar.gz"
ARCHIVE_ENV = "LSTM_SENTIMENT_IMDB"

POSITIVE_WORDS = ["great", "wonderful", "loved", "brilliant", "superb", "moving"]
NEGATIVE_WORDS = ["awful", "boring", "hated", "dull", "terrible", "waste"]
FILLER = ["the", "film", "plot", "actors", "was", "and", "story", "scenes"]


def find_archive() -> Path | None:
    """$LSTM_SENTIMENT_IMDB, else ../shared/data/aclImdb_v1.tar.gz beside the repository."""
    if os.environ.get(ARCHIVE_ENV):
        return Path(os.environ[ARCHIVE_ENV])
    return SHARED_ARCHIVE if SHARED_ARCHIVE.exists() else None


@pytest.fixture(scope="session")
def imdb_archive() -> Path:
    path = find_archive()
    if path is None or not path.exists():
        required(f"the IMDb archive is missing: set {ARCHIVE_ENV} or put it at {SHARED_ARCHIVE}")
    return path


def required(message: str) -> None:
    """A missing tool or file fails the test under CI, and skips it elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (under CI this is a failure, not a skip)")
    pytest.skip(message)


def npm_install(folder: Path) -> None:
    """``npm install`` the package.json in ``folder`` (pinned versions; no install scripts)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        required(f"{' and '.join(missing)} not found: the JavaScript sample cannot run")
    subprocess.run(
        ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"],
        cwd=folder,
        check=True,
        capture_output=True,
        timeout=600,
    )


def synthetic_review(label: int, index: int) -> str:
    """A made-up review whose sentiment words follow its label, with HTML line breaks."""
    words = POSITIVE_WORDS if label else NEGATIVE_WORDS
    body = [FILLER[(index + k) % len(FILLER)] for k in range(6)]
    body.insert(index % 5, words[index % len(words)])
    body.append(words[(index + 1) % len(words)])
    return " ".join(body[:4]).capitalize() + ".<br /><br />" + " ".join(body[4:]) + "!"


def tiny_layout(per_label: int = 6, unsup: int = 4) -> dict[str, bytes]:
    """Relative paths -> contents of a small dataset in the official layout."""
    files: dict[str, bytes] = {"aclImdb/README": b"made up for tests\n"}
    for split in ("train", "test"):
        for label, folder in ((1, "pos"), (0, "neg")):
            for i in range(per_label):
                rating = 7 + i % 4 if label else 1 + i % 4
                text = synthetic_review(label, i + (0 if split == "train" else 1000))
                files[f"aclImdb/{split}/{folder}/{i}_{rating}.txt"] = text.encode()
    for i in range(unsup):
        files[f"aclImdb/train/unsup/{i}_0.txt"] = synthetic_review(i % 2, i).encode()
    return files


def write_archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root / "aclImdb"


@pytest.fixture
def tiny_archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "aclImdb_v1.tar.gz", tiny_layout())


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "extracted", tiny_layout())


def _train_tiny(root: Path, **overrides) -> Path:
    pytest.importorskip("keras", reason="needs the 'train' extra")
    from lstm_sentiment.train.config import TrainConfig
    from lstm_sentiment.train.fit import train

    archive = write_archive(root / "aclImdb_v1.tar.gz", tiny_layout(per_label=20))
    settings = dict(
        limit_per_label=20,
        max_length=24,
        epochs=2,
        batch_size=8,
        embedding_dim=8,
        lstm1_units=8,
        lstm2_units=4,
    )
    train(TrainConfig(**{**settings, **overrides}), archive, root / "run")
    return root / "run"


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small model trained on a made-up dataset: fast, for graph and plumbing tests."""
    return _train_tiny(tmp_path_factory.mktemp("tiny_run"))


@pytest.fixture(scope="session")
def tiny_bidirectional_run(tmp_path_factory):
    """``tiny_run`` with a bidirectional first LSTM and both dropouts (training only)."""
    return _train_tiny(
        tmp_path_factory.mktemp("tiny_bi_run"), bidirectional=True, word_dropout=0.1, dropout=0.1
    )


@pytest.fixture(scope="session")
def small_real_run(tmp_path_factory, imdb_archive):
    """A model trained on 2,000 real training reviews (about half a minute on 2 cores)."""
    pytest.importorskip("keras", reason="needs the 'train' extra")
    from lstm_sentiment.train.config import TrainConfig
    from lstm_sentiment.train.fit import train

    root = tmp_path_factory.mktemp("small_real_run")
    config = TrainConfig(
        limit_per_label=1000, vocab_size=5000, max_length=200, epochs=4, batch_size=32, seed=7
    )
    return train(config, imdb_archive, root / "run")


@pytest.fixture(scope="module")
def fp32():
    """The shipped fp32 model on the CPU."""
    from lstm_sentiment.runtime.model import SentimentModel

    return SentimentModel.load("fp32", "cpu")


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> Path:
    """The four files ``lstm-sentiment export`` writes, from a tiny run on contract version 3
    (max length 24, so long reviews are truncated): explanations' plumbing, any variant."""
    pytest.importorskip("tf2onnx", reason="needs the 'train' extra")
    from lstm_sentiment.export.release import ExportOptions, export_release

    root = tmp_path_factory.mktemp("tiny_models")
    run_dir = _train_tiny(root, contract_version=3)
    options = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False, allow_weak=True)
    export_release(run_dir, root / "models", root / "aclImdb_v1.tar.gz", options)
    return root / "models"


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="needs the ray extra")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            object_store_memory=80 * 1024 * 1024,
            logging_level="ERROR",
            log_to_driver=False,
        )
    yield ray
    ray.shutdown()
