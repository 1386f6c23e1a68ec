"""Training and evaluation: the folder a run writes, the kept epoch, and a real small run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.evaluate import evaluate, predict
from lstm_sentiment.train.fit import _BestEpoch, subset, train
from lstm_sentiment.train.model import load_model

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


class _FakeModel:
    def __init__(self) -> None:
        self.weights = [np.zeros(2)]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = weights


def test_best_epoch_keeps_the_lowest_validation_loss_not_the_last():
    best, model = _BestEpoch(), _FakeModel()
    callback = best.callback()
    callback.set_model(model)
    for epoch, loss in enumerate([0.5, 0.3, 0.4, 0.6]):
        model.weights = [np.full(2, float(epoch))]
        callback.on_epoch_end(epoch, {"val_loss": loss})
    best.restore(model)
    assert best.epoch == 2
    assert model.weights[0].tolist() == [1.0, 1.0]


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
    # The vocabulary is a pure function of the training text: a rebuild gives it again.
    train_texts = [r.text for r in subset(imdb.load_split(imdb_archive, "train"), 1000, 7)]
    assert TextContract.from_texts(train_texts, 5000, 200) == result.contract
    # Test-split reviews are never in the training split.
    metrics = evaluate(result.out_dir, imdb_archive, "test", limit_per_label=500, seed=1)
    assert metrics["n"] == 1000
    assert metrics["accuracy"] > 0.70, metrics
    assert metrics["roc_auc"] > 0.78, metrics
