"""What an lstm-sentiment model file looks like from outside: the one place that says it.

Tensor names and types, the labels and threshold a model carries unless it says otherwise,
the metadata keys, and the table of shipped variants. Export writes files by it, the runtime
checks and reads them by it, and the CLIs list the variants from it. No heavy imports.

    from lstm_sentiment.runtime.signature import IDS, OUTPUT, VARIANTS
    VARIANTS["text-int8"].file        # 'lstm-sentiment-text-int8.onnx'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Tensors. Element types are ONNX TensorProto.DataType numbers.
INT32, FLOAT, STRING = 6, 1, 8
IDS = "token_ids"  # int32 [batch, time], post-padded with 0
TEXT = "review"  # string [batch]
OUTPUT = "positive_probability"  # float32 [batch]
TOKEN_COUNT = "token_count"  # int32 [batch]: ids per review, start id included
# Optional outputs (files exported since contract version 3 have them; export/effects.py):
# float32 [batch, time]: the logit's change at each id; in a raw-text file, at each of tokens
EFFECTS = "token_effects"
# string [batch, matches], raw-text files: every match of the contract's scan as written
# (words, and line-break tags and references, whose effect is 0), in the review's order
TOKENS = "tokens"


class Kind(str, Enum):
    """What a model takes: token ids (the contract runs in Python) or review text."""

    IDS = "ids"
    TEXT = "text"


# (name, element type, rank) of the inputs and outputs of each kind.
SIGNATURES: dict[Kind, tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]] = {
    Kind.IDS: ([(IDS, INT32, 2)], [(OUTPUT, FLOAT, 1)]),
    Kind.TEXT: ([(TEXT, STRING, 1)], [(OUTPUT, FLOAT, 1), (TOKEN_COUNT, INT32, 1)]),
}
# What a file may add after those: word-level explanations.
OPTIONAL_OUTPUTS: dict[Kind, list[tuple[str, int, int]]] = {
    Kind.IDS: [(EFFECTS, FLOAT, 2)],
    Kind.TEXT: [(EFFECTS, FLOAT, 2), (TOKENS, STRING, 2)],
}
_TYPE_NAMES = {INT32: "int32", FLOAT: "float32", STRING: "string"}


_SHAPES = {
    IDS: ["batch", "time"],
    TEXT: ["batch"],
    OUTPUT: ["batch"],
    TOKEN_COUNT: ["batch"],
    EFFECTS: ["batch", "time"],
    TOKENS: ["batch", "time"],
}


def io_description(kind: Kind, explains: bool = True) -> dict[str, dict[str, object]]:
    """The ``io`` metadata of a model of ``kind``: names, types and symbolic shapes."""
    inputs, outputs = SIGNATURES[kind]
    outputs = outputs + (OPTIONAL_OUTPUTS[kind] if explains else [])

    def describe(name: str, elem: int, rank: int) -> dict[str, object]:
        return {"name": name, "type": _TYPE_NAMES[elem], "shape": _SHAPES[name]}

    described = {"input": describe(*inputs[0]), "output": describe(*outputs[0])}
    for extra in outputs[1:]:
        described[extra[0]] = describe(*extra)
    return described


# What a model says about itself: metadata_props keys, each a JSON value.
META_PREFIX = "lstm_sentiment."
META_KEYS = (
    "contract",
    "labels",
    "threshold",
    "model_version",
    "variant",
    "quantization",
    "training_config",
    "training",
    "evaluation",
    "exporter",
    "io",
    "calibration",
)
DEFAULT_LABELS = ("negative", "positive")  # below, and at or above, the threshold
DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Variant:
    name: str
    file: str
    kind: Kind
    quantized: bool


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("fp32", "lstm-sentiment-fp32.onnx", Kind.IDS, False),
        Variant("int8", "lstm-sentiment-int8.onnx", Kind.IDS, True),
        Variant("text-fp32", "lstm-sentiment-text-fp32.onnx", Kind.TEXT, False),
        Variant("text-int8", "lstm-sentiment-text-int8.onnx", Kind.TEXT, True),
    )
}
MODEL_HELP = (
    ", ".join(VARIANTS) + " (the shipped models; text-* tokenize in the graph), or a path to an "
    ".onnx or .ort file"
)
