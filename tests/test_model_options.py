"""Model options beyond the textbook network: word2vec starting vectors, dropout."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_sentiment.train.config import TrainConfig

pytest.importorskip("keras", reason="the model option tests need the 'train' extra")


def _corpus(seed: int = 0) -> list[np.ndarray]:
    """Ids 3-4 always share their neighbours (10-14), ids 5-6 share others (20-24); the
    start id 1 opens every review as the contract writes it."""
    rng = np.random.default_rng(seed)
    reviews = []
    for _ in range(400):
        pair, context = ((3, 4), range(10, 15)) if rng.random() < 0.5 else ((5, 6), range(20, 25))
        words = [
            int(rng.choice(pair)) if i % 3 == 1 else int(rng.choice(list(context)))
            for i in range(12)
        ]
        reviews.append(np.array([1, *words], dtype=np.int32))
    return reviews


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_word_vectors_place_words_of_the_same_contexts_together():
    pytest.importorskip("gensim", reason="word vectors need the 'train' extra")
    from lstm_sentiment.train.word_vectors import pretrained_embedding

    weights = pretrained_embedding(_corpus(), vocab_size=40, dim=16, seed=3)
    assert weights.shape == (40, 16) and weights.dtype == np.float32
    assert _cosine(weights[3], weights[4]) > _cosine(weights[3], weights[5]) + 0.2
    assert _cosine(weights[5], weights[6]) > _cosine(weights[4], weights[6]) + 0.2
    # Padding, the start id and ids that never occur keep Keras' small random start.
    for unseen in (0, 1, 2, 30, 39):
        assert np.abs(weights[unseen]).max() <= 0.05
    assert np.linalg.norm(weights[3]) > 4 * np.linalg.norm(weights[30])
    np.testing.assert_array_equal(weights, pretrained_embedding(_corpus(), 40, 16, seed=3))


def test_start_embedding_sets_the_models_first_layer():
    pytest.importorskip("gensim", reason="word vectors need the 'train' extra")
    from lstm_sentiment.train.model import build_model
    from lstm_sentiment.train.word_vectors import pretrained_embedding, start_embedding

    config = TrainConfig(embedding_dim=16, lstm1_units=4, lstm2_units=2, word_vectors=True)
    model = build_model(config, 40)
    said: list[str] = []
    start_embedding(model, _corpus(), seed=3, say=said.append)
    (got,) = model.get_layer("embedding").get_weights()
    np.testing.assert_array_equal(got, pretrained_embedding(_corpus(), 40, 16, seed=3))
    assert said == ["word vectors: word2vec over 400 reviews"]


def test_dropout_is_active_in_training_only_and_keeps_padding_out():
    from lstm_sentiment.train.model import build_model

    config = TrainConfig(
        embedding_dim=8, lstm1_units=8, lstm2_units=4, word_dropout=0.5, dropout=0.5
    )
    model = build_model(config, 40)
    assert {"word_dropout", "dropout"} <= {layer.name for layer in model.layers}
    ids = np.array([[1, 5, 6, 7, 0, 0], [1, 5, 6, 7, 8, 9]], dtype=np.int32)
    inference = model(ids, training=False).numpy()
    np.testing.assert_array_equal(inference, model(ids, training=False).numpy())
    np.testing.assert_allclose(inference[0], model(ids[:, :4], training=False).numpy()[0])
    trained = [model(ids, training=True).numpy() for _ in range(5)]
    assert any(not np.allclose(t, inference) for t in trained)


def test_dropout_rates_must_be_below_one():
    for field in ("word_dropout", "dropout"):
        with pytest.raises(ValueError, match="dropout must be in"):
            TrainConfig(**{field: 1.0})
