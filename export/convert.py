"""Convert a trained Keras model folder to an fp32 ONNX graph with native, length-aware LSTMs.

    from lstm_sentiment.export.convert import convert
    model = convert("runs/textbook")          # onnx.ModelProto

The graph's contract for other apps:

- input ``token_ids``: int32 ``[batch, time]``, post-padded ids from the text contract (every
  review at least the start id; ``time`` may be any width >= the longest review);
- output ``positive_probability``: float32 ``[batch]``, the probability that each review is
  positive.

Opset 17: the newest that tf2onnx 1.17 emits for this graph and that every onnxruntime since
1.13 runs, mobile builds included; nothing in the model needs a newer operator.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper

from lstm_sentiment.export.effects import add_token_effects
from lstm_sentiment.export.lengths_pass import apply_lengths_pass
from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.signature import IDS, OUTPUT
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.quiet import import_quietly

OPSET = 17


def convert(
    run_dir: str | Path,
    *,
    lengths_pass: bool = True,
    temperature: float = 1.0,
    effects: bool = True,
) -> onnx.ModelProto:
    """The fp32 ONNX model of ``run_dir/model.keras``, rewritten by the lengths pass, its
    logit divided by ``temperature`` (``export/calibrate.py``), with the ``token_effects``
    output (``export/effects.py``; it needs the lengths pass).

    ``lengths_pass=False`` gives the plain unmasked conversion, whose scores depend on the
    padding: useful only to show what the pass fixes.
    """
    import_quietly("tf2onnx")
    import tensorflow as tf
    import tf2onnx

    from lstm_sentiment.train.model import build_model, load_model, scale_logits

    folder = Path(run_dir)
    config = TrainConfig.load(folder / "config.json")
    contract = TextContract.load(folder / "contract.json")
    trained = load_model(folder / "model.keras")
    twin = build_model(config, contract.vocab_size, mask=False)
    twin.set_weights(trained.get_weights())
    if temperature != 1.0:
        scale_logits(twin, temperature)

    # from_keras fails on a Sequential loaded from .keras (KeyError 'keras_tensor_...');
    # a tf.function with an explicit signature converts cleanly.
    signature = [tf.TensorSpec([None, None], tf.int32, name=IDS)]

    @tf.function(input_signature=signature)
    def forward(token_ids: tf.Tensor) -> tf.Tensor:
        return twin(token_ids, training=False)

    model, _ = tf2onnx.convert.from_function(forward, input_signature=signature, opset=OPSET)
    if lengths_pass:
        apply_lengths_pass(model, IDS)
    _flatten_output(model)
    if lengths_pass and effects:
        add_token_effects(model)
    onnx.checker.check_model(model, full_check=True)
    return model


def _flatten_output(model: onnx.ModelProto) -> None:
    """Name the output and give it shape ``[batch]`` instead of ``[batch, 1]``."""
    graph = model.graph
    (old,) = graph.output
    graph.node.append(helper.make_node("Constant", [], ["out_axis"], value=_axis()))
    graph.node.append(helper.make_node("Squeeze", [old.name, "out_axis"], [OUTPUT]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch"]))
    graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    graph.input[0].type.tensor_type.shape.dim[1].dim_param = "time"


def _axis() -> onnx.TensorProto:
    return helper.make_tensor("value", TensorProto.INT64, [1], [1])
