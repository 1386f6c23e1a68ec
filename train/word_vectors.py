"""Word vectors pretrained on the reviews a run reads, as the embedding's starting weights.

    from lstm_sentiment.train.word_vectors import pretrained_embedding
    weights = pretrained_embedding(encoded_reviews, vocab_size=20_000, dim=64, seed=1337)

Skip-gram word2vec (gensim, a ``train``-extra dependency) over the reviews' token ids, so
each vector belongs to exactly the id the model reads, through the same text contract. The
release recipe passes the labelled reviews it trains on and the unlabelled ones: never the
held-out validation reviews or the test split. Ids word2vec never saw (padding, the start id,
words that never occur) keep a small random start, as Keras would give them.

One worker thread and a seed make the vectors the same on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import OOV_ID


class _Sentences:
    """The reviews as lists of id strings, made afresh on every pass (gensim reads the
    corpus once for the vocabulary and once per epoch; holding all lists would cost GBs)."""

    def __init__(self, encoded: Sequence[np.ndarray], names: list[str]) -> None:
        self.encoded = encoded
        self.names = names

    def __iter__(self) -> Iterator[list[str]]:
        names = self.names
        for ids in self.encoded:
            yield [names[i] for i in ids if i >= OOV_ID]  # no padding or start id


def pretrained_embedding(
    encoded: Sequence[np.ndarray],
    vocab_size: int,
    dim: int,
    seed: int,
    epochs: int = 5,
    window: int = 5,
) -> np.ndarray:
    """A float32 ``[vocab_size, dim]`` matrix: word2vec vectors for the ids in ``encoded``."""
    from gensim.models import Word2Vec

    names = [str(i) for i in range(vocab_size)]
    w2v = Word2Vec(
        sentences=_Sentences(encoded, names),
        vector_size=dim,
        window=window,
        min_count=1,
        sg=1,
        negative=5,
        epochs=epochs,
        seed=seed,
        workers=1,
    )
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-0.05, 0.05, size=(vocab_size, dim)).astype(np.float32)
    for name, row in w2v.wv.key_to_index.items():
        weights[int(name)] = w2v.wv.vectors[row]
    return weights


def start_embedding(
    model: Any, encoded: Sequence[np.ndarray], seed: int, say: Callable[[str], None]
) -> None:
    """Set ``model``'s embedding (the layer named ``embedding``) to word2vec vectors of
    ``encoded``, the reviews the model trains on."""
    layer = model.get_layer("embedding")
    say(f"word vectors: word2vec over {len(encoded):,} reviews")
    layer.set_weights([pretrained_embedding(encoded, layer.input_dim, layer.output_dim, seed)])
