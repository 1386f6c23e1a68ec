"""Training and evaluation: the folder a run writes, the kept epoch, and a real small run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.evaluate import evaluate, predict
from lstm_sentiment.train.fit import train
from lstm_sentiment.train.model import load_model
from lstm_sentiment.train.samplers import hold_out, subset

pytest.importorskip("keras", reason="the training tests need the 'train' extra")

TINY = dict(max_length=16, epochs=2, batch_size=4, embedding_dim=8, lstm1_units=8, lstm2_units=4)


def test_config_refuses_impossible_values():
    with pytest.raises(ValueError, match="validation_split"):
        TrainConfig(validation_split=0)
    with pytest.raises(ValueError, match="unknown training config keys: colour"):
        TrainConfig.from_dict({"colour": "red"})


def test_config_round_trips_through_json(tmp_path):
    config = TrainConfig(epochs=3, keep="first", limit_per_label=10)
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config


def test_subset_is_balanced_seeded_and_a_sample_of_the_input():
    reviews = [imdb.Review(f"train/x/{i}", "train", i % 2, 1, str(i)) for i in range(40)]
    a, b = subset(reviews, 5, seed=3), subset(reviews, 5, seed=3)
    assert a == b and len(a) == 10
    assert sum(r.label for r in a) == 5
    assert subset(reviews, 5, seed=4) != a


def test_best_epoch_keeps_the_lowest_validation_loss_not_the_last(tmp_path):
    from lstm_sentiment.train.distill import _Progress

    progress = _Progress(tmp_path / "progress.json")
    for loss in [0.5, 0.3, 0.4, 0.6]:
        progress.add({"val_loss": loss, "val_accuracy": 0.5}, [])
    assert progress.best_epoch == 2
    assert _Progress(tmp_path / "progress.json").best_epoch == 2  # kept on disk for a resume


def test_the_textbook_recipe_runs_the_release_loop_without_teacher_or_crops(tmp_path, tiny_archive):
    config = TrainConfig(limit_per_label=6, **TINY)
    result = train(config, tiny_archive, tmp_path / "run")
    info = json.loads((result.out_dir / "training.json").read_text())
    assert "teacher" not in info and "student_texts" not in info
    assert set(result.history) >= {"loss", "val_loss", "val_accuracy"}
    assert not (result.out_dir / "checkpoint").exists()  # removed once the run is done


def test_training_writes_a_complete_folder_that_evaluates(tmp_path, tiny_archive):
    config = TrainConfig(limit_per_label=6, **TINY)
    result = train(config, tiny_archive, tmp_path / "run")
    folder = result.out_dir
    for name in (
        "model.keras",
        "contract.json",
        "config.json",
        "history.json",
        "history.png",
        "training.json",
    ):
        assert (folder / name).is_file(), name
    assert TrainConfig.load(folder / "config.json") == config
    contract = TextContract.load(folder / "contract.json")
    assert contract == result.contract and contract.max_length == 16
    history = json.loads((folder / "history.json").read_text())
    assert len(history["val_loss"]) == 2
    assert result.best_epoch == 1 + int(np.argmin(history["val_loss"]))

    metrics = evaluate(folder, tiny_archive, "test", limit_per_label=6)
    assert metrics["n"] == 12 and 0 <= metrics["accuracy"] <= 1
    assert json.loads((folder / "evaluation.json").read_text())["n"] == 12
    assert (folder / "evaluation.png").stat().st_size > 1000


def test_a_saved_model_scores_the_same_regardless_of_padding(tmp_path, tiny_archive):
    result = train(TrainConfig(limit_per_label=6, **TINY), tiny_archive, tmp_path / "run")
    model = load_model(tmp_path / "run" / "model.keras")
    texts = ["Great wonderful film", "Awful boring dull plot and terrible actors everywhere"]
    ids, _ = result.contract.encode_batch(texts)
    tight = model.predict(ids, verbose=0).ravel()
    padded = predict(model, result.contract, texts)  # padded to max_length
    np.testing.assert_allclose(tight, padded, atol=1e-5)


def test_a_model_file_with_a_lambda_layer_is_refused_in_safe_mode(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "unsafe.keras")
    with pytest.raises(ValueError, match="(?i)unsafe|lambda|safe_mode"):
        load_model(tmp_path / "unsafe.keras")


@pytest.mark.imdb
@pytest.mark.slow
def test_a_small_real_run_beats_chance_on_reviews_it_never_saw(small_real_run, imdb_archive):
    result = small_real_run
    # The vocabulary is a pure function of the text trained on (the validation reviews are
    # held out first): a rebuild gives it again.
    reviews = subset(imdb.load_split(imdb_archive, "train"), 1000, 7)
    _, fit = hold_out(len(reviews), 0.2, 7, 2)
    train_texts = [reviews[i].text for i in np.sort(fit)]
    assert TextContract.from_texts(train_texts, 5000, 200) == result.contract
    # Test-split reviews are never in the training split.
    metrics = evaluate(result.out_dir, imdb_archive, "test", limit_per_label=500, seed=1)
    assert metrics["n"] == 1000
    assert metrics["accuracy"] > 0.70, metrics
    assert metrics["roc_auc"] > 0.78, metrics


def test_textbook_batches_mix_lengths_and_release_batches_bucket_them():
    from lstm_sentiment.train.distill import LengthBuckets

    encoded = [np.ones(1 + i % 50, dtype=np.int32) for i in range(400)]
    targets = np.zeros(400, dtype=np.float32)
    spread = []
    for bucketed in (False, True):
        plan = LengthBuckets(encoded, targets, 8, seed=1, bucketed=bucketed).plan(0)
        assert sorted(i for rows in plan for i in rows) == list(range(400))  # each once
        spread.append(np.mean([np.ptp([len(encoded[i]) for i in rows]) for rows in plan]))
    assert spread[1] < spread[0] / 4
    assert not TrainConfig().length_buckets and TrainConfig.for_recipe("release").length_buckets
