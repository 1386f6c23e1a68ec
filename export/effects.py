"""Per-token effects as an extra output of the graph: why a review got its score, in the
same pass that scores it.

    from lstm_sentiment.export.effects import add_token_effects
    add_token_effects(model)   # after the lengths pass; adds output "token_effects"

The last LSTM's output at every step, read through the classifier head, is the logit the
model would give the review if it ended there. ``token_effects[n, t]`` is the change of
that logit at position ``t``: how far reading token ``t`` moved the score, above 0 toward
the positive label, in the file's own (calibrated) logit. The start id and the padding have
0. The effects of a row add up to its final logit minus the logit after the start id alone.

The head weights are the file's own (the same initializers), so the int8 quantizer treats
the branch like the head. It costs a matrix-vector product per step, next to the LSTMs'
dozens (``benchmarks/explain.py`` measures it); a caller that does not ask for the output
pays only that.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from lstm_sentiment.export.lengths_pass import GraphPassError
from lstm_sentiment.runtime.signature import EFFECTS

_FINAL_STATE = "lp_final_state"  # the lengths pass's [N, H] input to the head
_IS_TOKEN = "lp_is_token"  # the lengths pass's bool [N, T]: not padding
P = "fx_"


def add_token_effects(model: onnx.ModelProto) -> onnx.ModelProto:
    """Add ``token_effects`` (float32 ``[batch, time]``) to a graph the lengths pass wrote."""
    graph = model.graph
    lstms = [n for n in graph.node if n.op_type == "LSTM"]
    heads = [n for n in graph.node if n.op_type == "MatMul" and n.input[0] == _FINAL_STATE]
    if not lstms or len(heads) != 1:
        raise GraphPassError("token effects need the lengths pass's graph (one LSTM head)")
    (head,) = heads
    adds = [n for n in graph.node if n.op_type == "Add" and head.output[0] in n.input]
    if len(adds) != 1:
        raise GraphPassError("the classifier head is not MatMul then Add; tf2onnx changed")
    bias = next(i for i in adds[0].input if i != head.output[0])
    steps = lstms[-1].output[0]  # Y: [T, 1, N, H]
    n = helper.make_node
    graph.node.extend(
        [
            _ints(P + "axis1", [1]),
            _ints(P + "axis2", [2]),
            _ints(P + "zero", [0]),
            _ints(P + "minus_one", [-1]),
            n("Squeeze", [steps, P + "axis1"], [P + "states"]),  # [T, N, H]
            n("MatMul", [P + "states", head.input[1]], [P + "weighted"]),
            n("Add", [P + "weighted", bias], [P + "logits_tn1"]),
            n("Squeeze", [P + "logits_tn1", P + "axis2"], [P + "logits_tn"]),
            n("Transpose", [P + "logits_tn"], [P + "logits"], perm=[1, 0]),  # [N, T]
            # The logit before each step: the first step's own, then each previous one.
            n("Slice", [P + "logits", P + "zero", P + "axis1", P + "axis1"], [P + "first"]),
            n("Slice", [P + "logits", P + "zero", P + "minus_one", P + "axis1"], [P + "before_"]),
            n("Concat", [P + "first", P + "before_"], [P + "before"], axis=1),
            n("Sub", [P + "logits", P + "before"], [P + "change"]),
            n(
                "Constant",
                [],
                [P + "nothing"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [], [0.0]),
            ),
            n("Where", [_IS_TOKEN, P + "change", P + "nothing"], [EFFECTS]),
        ]
    )
    graph.output.append(
        helper.make_tensor_value_info(EFFECTS, TensorProto.FLOAT, ["batch", "time"])
    )
    return model


def _ints(name: str, values: list[int]) -> onnx.NodeProto:
    value = helper.make_tensor("value", TensorProto.INT64, [len(values)], values)
    return helper.make_node("Constant", [], [name], value=value)
