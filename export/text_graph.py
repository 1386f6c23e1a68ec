"""Build the text contract as an ONNX graph, and put it in front of a token-id model.

    from lstm_sentiment.export.text_graph import raw_text_model
    model = raw_text_model(onnx.load("lstm-sentiment-int8.onnx"), contract)

The result takes ``review``, a 1-D string tensor, and gives ``positive_probability`` (and
``token_count``, the ids each review became, start id included: 1 means no word): apps in
any language embed one file and never reimplement the tokenizer. The graph is generated from
the same ``TextContract`` object as the Python encoder, rule by rule:

- tokens: onnxruntime's ``com.microsoft.Tokenizer`` with the regex
  ``<[Bb][Rr] */?>|[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*``. It matches upper and lower case ASCII
  explicitly (no ``(?i)``, whose Unicode case folding would let the Kelvin sign match ``k``),
  so a token is exactly a contract token before lowercasing, or a line-break tag. Contract
  version 2 also joins words with the typographic apostrophes: ``['’‘ʼ]`` in place of ``'``;
  version 3 runs its scan of HTML references (runtime/contract.py) in the same regex, every
  letter in both cases, and its apostrophe references join words as ``'`` does;
- lowercase: ``StringNormalizer`` with ``locale="C"`` on the tokens, which are ASCII apart
  from those apostrophes (it leaves them as they are), so it is exact whatever the
  platform's locales;
- line-break tags (and under version 3 references, which separate words) are dropped
  (``RegexFullMatch`` on ``[<&].*``, standard since opset 20: no token starts so);
- ids: ``ai.onnx.ml.LabelEncoder`` over the vocabulary, unknown tokens to the OOV id. Under
  version 2 a vocabulary word with apostrophes is listed in every spelling of them
  (``didn't``, ``didn’t``, ``didn‘t``, ``didnʼt``), which is the graph's way of reading them
  all as ``'``; under version 3 the apostrophe references are spellings too (``didn&#39;t``);
- truncation and the start id: each row's kept tokens are compacted with ``CumSum`` and
  ``ScatterElements``, the first (``keep="last"``) or last tokens beyond ``max_length - 1``
  dropped, and the start id put in front; rows are post-padded, as the token model expects.

It uses the contrib ``Tokenizer``, so it runs on onnxruntime (every build, Node and mobile
included) rather than on any ONNX runtime; the standard-op alternative (split/concat loops)
was measured about twice as slow, and the token-id model stays available for other runtimes.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from lstm_sentiment.runtime.contract import (
    APOSTROPHE_REFERENCES,
    FIRST_WORD_ID,
    OOV_ID,
    PAD_ID,
    START_ID,
    TYPOGRAPHIC_APOSTROPHES,
    TextContract,
)
from lstm_sentiment.runtime.signature import EFFECTS, IDS, TOKEN_COUNT, TOKENS
from lstm_sentiment.runtime.signature import TEXT as TEXT_INPUT

OPSET = 20  # RegexFullMatch; every op of the token-id graph means the same at 20 as at 17
ML_OPSET = 4  # LabelEncoder with a default for strings
_TAG = "<[Bb][Rr] */?>"
MAX_SPELLINGS = 1_000_000  # LabelEncoder keys a vocabulary may expand to


def _any_case(literal: str) -> str:
    """A regex for ``literal`` (lowercase) in any ASCII case: the scan runs before rule 1."""
    return "".join(f"[{c.upper()}{c}]" if "a" <= c <= "z" else c for c in literal)


def token_regex(version: int) -> str:
    """The contract's token pattern on text that is not lowercased yet."""
    apostrophes = "'" + (TYPOGRAPHIC_APOSTROPHES if version >= 2 else "")
    joiner = "'" if len(apostrophes) == 1 else f"[{apostrophes}]"
    if version >= 3:
        joiner = f"(?:{joiner}|" + "|".join(map(_any_case, APOSTROPHE_REFERENCES)) + ")"
    return f"[A-Za-z0-9]+(?:{joiner}[A-Za-z0-9]+)*"


def scan_regex(version: int) -> str:
    """The Tokenizer's pattern: what separates words but must be matched to be dropped
    (line-break tags; under version 3 references too), then tokens."""
    if version < 3:
        return f"{_TAG}|{token_regex(version)}"
    lt, gt = _any_case("&lt;"), _any_case("&gt;")
    tag = f"(?:<|{lt})[Bb][Rr] */?(?:>|{gt})"
    reference = "&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#[Xx][0-9A-Fa-f]+);"
    return f"{tag}|{reference}|{token_regex(version)}"


def apostrophe_marks(version: int) -> tuple[str, ...]:
    """Every spelling (lowercase) the contract reads as the apostrophe inside a token."""
    marks = ("'",) + (tuple(TYPOGRAPHIC_APOSTROPHES) if version >= 2 else ())
    return marks + (APOSTROPHE_REFERENCES if version >= 3 else ())


def vocabulary_keys(contract: TextContract) -> tuple[list[str], list[int]]:
    """LabelEncoder keys and ids: every word, in every spelling the contract reads as it."""
    keys: list[str] = []
    ids: list[int] = []
    marks = apostrophe_marks(contract.version)
    for offset, word in enumerate(contract.vocabulary):
        parts = word.split("'")
        spellings = [parts[0]]
        for part in parts[1:]:
            spellings = [s + mark + part for s in spellings for mark in marks]
        keys.extend(spellings)
        ids.extend([FIRST_WORD_ID + offset] * len(spellings))
        if len(keys) > MAX_SPELLINGS:
            raise ValueError("the vocabulary has too many apostrophes to list every spelling")
    return keys, ids


def _const(name: str, values: list[int]) -> onnx.NodeProto:
    tensor = helper.make_tensor(name, TensorProto.INT64, [len(values)], values)
    return helper.make_node("Constant", [], [name], value=tensor)


def _scalar(name: str, value: int) -> onnx.NodeProto:
    tensor = helper.make_tensor(name, TensorProto.INT64, [], [value])
    return helper.make_node("Constant", [], [name], value=tensor)


# Every name this graph adds starts with the prefix; the ones raw_text_model reads too:
PREFIX = "tx_"
COUNT = PREFIX + "count"  # int64 [N, 1]: tokens with an id in each row, before truncation
ROOM = PREFIX + "room"  # int64 scalar: ids a row holds after the start id
ONE = PREFIX + "one"  # int64 scalar 1
MINUS_ONE = PREFIX + "minus_one"  # int64 [1]: -1, for Reshape


def text_graph_nodes(contract: TextContract, source: str = TEXT_INPUT) -> list[onnx.NodeProto]:
    """Nodes from ``source`` (string ``[N]``) to ``token_ids`` (int32 ``[N, W]``)."""
    return (
        _constants(contract.max_length - 1)
        + _token_ids(contract, source)
        + _truncation(contract.keep)
        + _rows()
    )


def _constants(room: int) -> list[onnx.NodeProto]:
    p = PREFIX
    return [
        _const(MINUS_ONE, [-1]),
        _const(p + "zero_1d", [0]),
        _const(p + "one_1d", [1]),
        _scalar(p + "zero", 0),
        _scalar(ONE, 1),
        _scalar(ROOM, room),
        helper.make_node(
            "Constant",
            [],
            [p + "blank"],
            value=helper.make_tensor(p + "blank", TensorProto.STRING, [1], [b""]),
        ),
    ]


def _token_ids(contract: TextContract, source: str) -> list[onnx.NodeProto]:
    """Tokens, lowercased and looked up: ids [N, T] with tags and padding as 0, then each
    kept token's rank in its row and the row's count."""
    p, n = PREFIX, helper.make_node
    keys, key_ids = vocabulary_keys(contract)
    return [
        # Tokens [N, T] (T = most tokens in a row; rows padded with "").
        n(
            "Tokenizer",
            [source],
            [p + "raw_tokens"],
            domain="com.microsoft",
            mark=0,
            pad_value="",
            mincharnum=1,
            tokenexp=scan_regex(contract.version),
        ),
        # StringNormalizer refuses an empty tensor: lowercase [tokens..., ""] and drop the "".
        n("Reshape", [p + "raw_tokens", p + "minus_one"], [p + "flat"]),
        n("Concat", [p + "flat", p + "blank"], [p + "flat_plus"], axis=0),
        n(
            "StringNormalizer",
            [p + "flat_plus"],
            [p + "lower_plus"],
            case_change_action="LOWER",
            locale="C",
            is_case_sensitive=1,
        ),
        n("Shape", [p + "flat"], [p + "flat_size"]),
        n("Slice", [p + "lower_plus", p + "zero_1d", p + "flat_size"], [p + "lower"]),
        # The row count N and the row width T, also for an empty batch.
        n("Shape", [source], [p + "n_1d"]),
        n("Max", [p + "n_1d", p + "one_1d"], [p + "n_or_1"]),
        n("Div", [p + "flat_size", p + "n_or_1"], [p + "t_1d"]),
        n("Concat", [p + "n_1d", p + "t_1d"], [p + "nt"], axis=0),
        # ids, with tags and padding as 0.
        n(
            "LabelEncoder",
            [p + "lower"],
            [p + "looked_up"],
            domain="ai.onnx.ml",
            keys_strings=["", *keys],
            values_int64s=[PAD_ID, *key_ids],
            default_int64=OOV_ID,
        ),
        n("RegexFullMatch", [p + "lower"], [p + "is_tag"], pattern="[<&].*"),
        n("Where", [p + "is_tag", p + "zero", p + "looked_up"], [p + "flat_ids"]),
        n("Reshape", [p + "flat_ids", p + "nt"], [p + "ids"], allowzero=1),  # T or N may be 0
        # Compact each row: position of every kept token among the row's kept tokens.
        n("Greater", [p + "ids", p + "zero"], [p + "keep"]),
        n("Cast", [p + "keep"], [p + "keep_i"], to=TensorProto.INT64),
        n("CumSum", [p + "keep_i", p + "one"], [p + "rank"]),
        n("ReduceSum", [p + "keep_i", p + "one_1d"], [COUNT], keepdims=1),
    ]


def _truncation(keep: str) -> list[onnx.NodeProto]:
    """Each token's position in its row after the contract's truncation."""
    p, n = PREFIX, helper.make_node
    if keep == "last":
        return [  # drop the first (count - room) kept tokens
            n("Sub", [COUNT, ROOM], [p + "excess"]),
            n("Max", [p + "excess", p + "zero"], [p + "shift"]),
            n("Sub", [p + "rank", p + "shift"], [p + "position"]),
        ]
    return [n("Identity", [p + "rank"], [p + "position"])]


def _rows() -> list[onnx.NodeProto]:
    """The rows: kept ids scattered to their positions, the start id in front."""
    p, n = PREFIX, helper.make_node
    return [
        n("GreaterOrEqual", [p + "position", p + "one"], [p + "after_start"]),
        n("LessOrEqual", [p + "position", p + "room"], [p + "in_room"]),
        n("And", [p + "after_start", p + "in_room"], [p + "fits"]),
        n("And", [p + "fits", p + "keep"], [p + "valid"]),
        # Width W = min(longest row, room) + 1; the column W collects what is dropped.
        n("Reshape", [p + "count", p + "minus_one"], [p + "counts"]),
        n("Concat", [p + "counts", p + "zero_1d"], [p + "counts_0"], axis=0),
        n("ReduceMax", [p + "counts_0"], [p + "longest"], keepdims=0),
        n("Min", [p + "longest", p + "room"], [p + "kept"]),
        n("Add", [p + "kept", p + "one"], [p + "width"]),
        n("Where", [p + "valid", p + "position", p + "width"], [p + "target"]),
        n("Add", [p + "width", p + "one"], [p + "width_plus"]),
        n("Unsqueeze", [p + "width_plus", p + "zero_1d"], [p + "width_plus_1d"]),
        n("Concat", [p + "n_1d", p + "width_plus_1d"], [p + "canvas_shape"], axis=0),
        n(
            "ConstantOfShape",
            [p + "canvas_shape"],
            [p + "canvas"],
            value=helper.make_tensor(p + "c0", TensorProto.INT64, [1], [0]),
        ),
        n(
            "ScatterElements",
            [p + "canvas", p + "target", p + "ids"],
            [p + "scattered"],
            axis=1,
            reduction="add",
        ),
        n("Unsqueeze", [p + "width", p + "zero_1d"], [p + "width_1d"]),
        n("Slice", [p + "scattered", p + "zero_1d", p + "width_1d", p + "one_1d"], [p + "body"]),
        # The start id in column 0 of every row.
        n("Range", [p + "zero", p + "width", p + "one"], [p + "columns"]),
        n("Equal", [p + "columns", p + "zero"], [p + "is_first"]),
        n("Cast", [p + "is_first"], [p + "first_i"], to=TensorProto.INT64),
        _scalar(p + "start", START_ID),
        n("Mul", [p + "first_i", p + "start"], [p + "start_row"]),
        n("Add", [p + "body", p + "start_row"], [p + "with_start"]),
        n("Cast", [p + "with_start"], [IDS], to=TensorProto.INT32),
    ]


def _effects_by_token(inner_effects: str, output: str = EFFECTS) -> list[onnx.NodeProto]:
    """``token_effects`` of the raw-text file, [N, T]: one value per match of the scan, in
    the order of ``tokens`` (the Tokenizer's matches as written: words, and the line-break
    tags and references, which read as 0, as do words truncation dropped). Every gap between
    two matches holds no match, so an app finds each match's place by searching the review
    forward from the end of the one before: exact, with no tokenizer of its own."""
    p, n = PREFIX, helper.make_node
    return [
        n("Concat", [p + "n_1d", p + "one_1d"], [p + "n1"], axis=0),
        n(
            "ConstantOfShape",
            [p + "n1"],
            [p + "zero_col"],
            value=helper.make_tensor(p + "f0", TensorProto.FLOAT, [1], [0.0]),
        ),  # fmt: skip
        # Column W of the padded effects is 0: where every token without an id points.
        n("Concat", [inner_effects, p + "zero_col"], [p + "effects_plus"], axis=1),
        n("GatherElements", [p + "effects_plus", p + "target"], [output], axis=1),
    ]


def text_only_model(contract: TextContract) -> onnx.ModelProto:
    """The pre-processing graph alone: ``review`` -> ``token_ids`` (for tests and debugging)."""
    graph = helper.make_graph(
        text_graph_nodes(contract),
        "lstm_sentiment_text_contract",
        [helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, ["batch"])],
        [helper.make_tensor_value_info(IDS, TensorProto.INT32, ["batch", "time"])],
    )
    return _with_opsets(helper.make_model(graph), {})


def raw_text_model(token_model: onnx.ModelProto, contract: TextContract) -> onnx.ModelProto:
    """``token_model`` (input ``token_ids``) with the text graph in front of it.

    onnxruntime's LSTM crashes the process on an empty batch (seen with 1.32), so an empty
    input gets one row of ids (the start id alone) and the scores are sliced back to nothing.
    The guard pads the ids, not the reviews: the strings are never copied, and ``tokens`` is
    the Tokenizer's own output.
    """
    model = onnx.ModelProto()
    model.CopyFrom(token_model)
    graph = model.graph
    (old_input,) = [i for i in graph.input if i.name == IDS]
    old_output = graph.output[0]
    explains = EFFECTS in [o.name for o in graph.output]
    inner, inner_effects = "tx_scores_plus", "tx_effects_by_id"
    renamed = {old_output.name: inner, EFFECTS: inner_effects}
    for node in graph.node:
        node.output[:] = [renamed.get(o, o) for o in node.output]
    text_nodes = text_graph_nodes(contract, source=TEXT_INPUT)
    unguarded = PREFIX + "ids_unguarded"
    names = {IDS: unguarded, **({PREFIX + "raw_tokens": TOKENS} if explains else {})}
    for node in text_nodes:
        node.input[:] = [names.get(i, i) for i in node.input]
        node.output[:] = [names.get(o, o) for o in node.output]
    guard = [
        # One row only when the batch is empty: any extra row would change the int8 model's
        # scores, whose activation scales are computed over the whole batch.
        _const("tx_guard_zero", [0]),
        _const("tx_guard_one", [1]),
        helper.make_node("Shape", [TEXT_INPUT], ["tx_in_n"]),
        helper.make_node("Min", ["tx_in_n", "tx_guard_one"], ["tx_nonempty"]),
        helper.make_node("Sub", ["tx_guard_one", "tx_nonempty"], ["tx_blanks"]),
        helper.make_node(
            "Concat",
            ["tx_guard_zero", "tx_guard_zero", "tx_blanks", "tx_guard_zero"],
            ["tx_pads"],
            axis=0,
        ),  # fmt: skip
        helper.make_node(
            "Constant",
            [],
            ["tx_guard_start"],
            value=helper.make_tensor("tx_guard_start", TensorProto.INT32, [], [START_ID]),
        ),  # fmt: skip
        helper.make_node("Pad", [unguarded, "tx_pads", "tx_guard_start"], [IDS], mode="constant"),
    ]
    graph.input.remove(old_input)
    graph.input.insert(0, helper.make_tensor_value_info(TEXT_INPUT, TensorProto.STRING, ["batch"]))
    for node in reversed(text_nodes + guard):
        graph.node.insert(0, node)
    graph.node.extend(
        [
            helper.make_node("Slice", [inner, "tx_guard_zero", "tx_in_n"], [old_output.name]),
            # Ids per review, the start id included (1 = no word the model reads).
            helper.make_node("Reshape", [COUNT, MINUS_ONE], [PREFIX + "count_flat"]),
            helper.make_node("Min", [PREFIX + "count_flat", ROOM], [PREFIX + "count_kept"]),
            helper.make_node("Add", [PREFIX + "count_kept", ONE], [PREFIX + "length"]),
            helper.make_node("Cast", [PREFIX + "length"], [TOKEN_COUNT], to=TensorProto.INT32),
        ]
    )
    outputs = [
        graph.output[0],
        helper.make_tensor_value_info(TOKEN_COUNT, TensorProto.INT32, ["batch"]),
    ]
    if explains:
        graph.node.extend(
            [
                helper.make_node(
                    "Slice", [inner_effects, "tx_guard_zero", "tx_in_n"], [PREFIX + "effects_n"]
                ),
                *_effects_by_token(PREFIX + "effects_n"),
            ]
        )
        outputs += [
            helper.make_tensor_value_info(EFFECTS, TensorProto.FLOAT, ["batch", "time"]),
            helper.make_tensor_value_info(TOKENS, TensorProto.STRING, ["batch", "time"]),
        ]
    del graph.output[:]
    graph.output.extend(outputs)
    others = {o.domain: o.version for o in model.opset_import if o.domain not in ("", "ai.onnx")}
    return _with_opsets(model, others)


def _with_opsets(model: onnx.ModelProto, others: dict[str, int]) -> onnx.ModelProto:
    opsets = {**others, "": OPSET, "ai.onnx.ml": ML_OPSET, "com.microsoft": 1}
    del model.opset_import[:]
    model.opset_import.extend(helper.make_opsetid(d, v) for d, v in sorted(opsets.items()))
    model.ir_version = max(model.ir_version, 9)
    return model
