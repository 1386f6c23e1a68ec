"""Write the self-description every exported model carries in ``metadata_props``.

Keys (values are JSON unless noted), all prefixed ``lstm_sentiment.``:

| key | value |
| --- | --- |
| ``contract`` | the text contract, vocabulary included (``runtime/contract.py``) |
| ``labels`` | below/at-or-above the threshold: ``["negative", "positive"]`` or the data's names |
| ``threshold`` | decision threshold on ``positive_probability`` (0.5) |
| ``model_version`` | the release's version string |
| ``variant`` | ``"fp32"``, ``"int8"``, ``"text-fp32"`` or ``"text-int8"`` |
| ``quantization`` | ``null`` or the dynamic-quantization options used |
| ``training_config`` | the resolved training recipe |
| ``training`` | training time, kept epoch, framework versions |
| ``evaluation`` | test-split figures of the Keras model that was exported |
| ``exporter`` | versions of the export tools |
| ``io`` | input and output names, types and shapes |
| ``calibration`` | ``null`` or the temperature and the validation figures it was fitted on |
"""

from __future__ import annotations

import json
from typing import Any

import onnx

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.signature import (
    DEFAULT_LABELS,
    DEFAULT_THRESHOLD,
    EFFECTS,
    META_PREFIX,
    Kind,
    io_description,
)


def exporter_versions() -> dict[str, str]:
    import onnxruntime
    import tensorflow as tf
    import tf2onnx

    return {
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "tensorflow": tf.__version__,
    }


def set_metadata(
    model: onnx.ModelProto,
    contract: TextContract,
    *,
    version: str,
    variant: str,
    extra: dict[str, Any],
) -> None:
    """Replace the model's ``lstm_sentiment.*`` metadata with the given description."""
    values: dict[str, Any] = {
        "contract": contract.to_dict(),
        "labels": list(DEFAULT_LABELS),  # replaced by extra's, for a model of the user's data
        "threshold": DEFAULT_THRESHOLD,
        "model_version": version,
        "variant": variant,
        "io": io_description(Kind.IDS, EFFECTS in {o.name for o in model.graph.output}),
        **extra,
    }
    kept = [p for p in model.metadata_props if not p.key.startswith(META_PREFIX)]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key = META_PREFIX + key
        entry.value = json.dumps(value, separators=(",", ":"), sort_keys=True)
    model.producer_name = "lstm-sentiment"
    model.producer_version = version
    model.doc_string = (
        "Stacked-LSTM binary text classifier (labels in metadata 'lstm_sentiment.labels'; "
        "data in 'lstm_sentiment.training'). Input token_ids: int32 "
        "[batch, time], post-padded ids from the text contract in metadata "
        "'lstm_sentiment.contract'. Output positive_probability: float32 [batch]."
    )
