"""The stacked-LSTM classifier as a Keras model.

Token ids come in post-padded (id 0 = padding). With ``mask=True`` (training, evaluation)
the embedding masks the padding, so the LSTMs stop at each review's true length and the
score does not depend on how much padding follows. ``mask=False`` builds the same layers
without the mask: the export converts that twin and restores the lengths in the ONNX graph.
"""

from __future__ import annotations

from typing import Any

from lstm_sentiment.runtime.signature import IDS
from lstm_sentiment.train.config import TrainConfig


def build_model(config: TrainConfig, vocab_size: int, *, mask: bool = True) -> Any:
    """An uncompiled ``keras.Sequential`` for ids of shape ``[batch, time]`` (int32)."""
    import keras

    first: Any = keras.layers.LSTM(config.lstm1_units, return_sequences=True, name="lstm_1")
    if config.bidirectional:
        # Keras concatenates the two directions' outputs at each step: forward, then backward.
        first = keras.layers.Bidirectional(first, merge_mode="concat", name="bilstm_1")
    layers = [
        keras.Input(shape=(None,), dtype="int32", name=IDS),
        keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=mask, name="embedding"),
        # Dropout is only active in training: the exported graph has none of it.
        # A noise shape of 1 on the features drops whole words, not single features.
        keras.layers.Dropout(config.word_dropout, noise_shape=(None, None, 1), name="word_dropout")
        if config.word_dropout
        else None,
        first,
        keras.layers.Dropout(config.dropout, name="dropout") if config.dropout else None,
        keras.layers.LSTM(config.lstm2_units, name="lstm_2"),
        keras.layers.Dense(1, activation="sigmoid", name="positive"),
    ]
    return keras.Sequential([layer for layer in layers if layer is not None], name="lstm_sentiment")


def compile_model(
    model: Any,
    config: TrainConfig,
    steps_per_epoch: int | None = None,
    metrics: tuple[str, ...] = ("accuracy",),
) -> None:
    """Adam with the config's learning rate (constant, or a cosine decay to 0 over every step
    of ``config.epochs``, which needs ``steps_per_epoch``) and gradient clipping, on binary
    cross-entropy (which also takes soft targets)."""
    import keras

    rate: Any = config.learning_rate
    if config.lr_schedule == "cosine":
        if steps_per_epoch is None:
            raise ValueError("a cosine learning-rate schedule needs the steps per epoch")
        rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=steps_per_epoch * config.epochs
        )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=rate, clipnorm=config.clipnorm),
        loss="binary_crossentropy",
        metrics=list(metrics),
    )


def load_model(path: Any) -> Any:
    """Load a saved ``.keras`` model with ``safe_mode`` on (no arbitrary code runs)."""
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True)


def scale_logits(model: Any, temperature: float) -> None:
    """Divide the model's logit by ``temperature`` in place, by scaling the weights of its
    last layer (Dense(1, sigmoid)): the calibrated network is the same network, with no
    operation added, and the sign of every logit, so every label at 0.5, is kept."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    head = model.get_layer("positive")
    head.set_weights([w / temperature for w in head.get_weights()])
