"""Per-token effects as an extra output of the graph: why a review got its score, in the
same pass that scores it.

    from lstm_sentiment.export.effects import add_token_effects
    add_token_effects(model)   # after the lengths pass; adds output "token_effects"

The last LSTM's output at every step, read through the classifier head, is the logit the
model would give the review if it ended there. ``token_effects[n, t]`` is the change of
that logit at position ``t`` (how far reading token ``t`` moved the score, above 0 toward
the positive label, in the file's own calibrated logit), discounted by
exp(-d / RECENCY_TOKENS) for a token ``d`` tokens before the row's last: the final state
forgets, and the discount ranks the words whose deletion moves the score most better than
the plain change does. The start id and the padding have 0. Divided by their discounts,
the effects of a row add up to its final logit minus the logit after the start id alone.

The head weights are the file's own (the same initializers), so the int8 quantizer treats
the branch like the head. It costs a matrix-vector product per step, next to the LSTMs'
dozens (``benchmarks/explain.py`` measures it); a caller that does not ask for the output
pays only that.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from lstm_sentiment.export.lengths_pass import LENGTHS, GraphPassError
from lstm_sentiment.runtime.signature import EFFECTS

_FINAL_STATE = "lp_final_state"  # the lengths pass's [N, H] input to the head
_IS_TOKEN = "lp_is_token"  # the lengths pass's bool [N, T]: not padding
_TOKEN_I32 = "lp_token_i32"  # the same as int32
# How fast a word's effect is discounted with its distance from the review's last token:
# the final state forgets, so a change the model made 200 tokens before the end moves the
# score less when the word is deleted than its step change says. Chosen on training
# reviews (benchmarks/faithfulness.py --split train --recency 100,150,200,300): 150-300
# tokens moved the logit on deleting the top 3 words about as far, 10% further than none.
RECENCY_TOKENS = 200.0
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
            n(
                "Constant",
                [],
                [P + "axis1_scalar"],
                value=helper.make_tensor("v", TensorProto.INT64, [], [1]),
            ),
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
            n("Sub", [P + "logits", P + "before"], [P + "step_change"]),
            # The recency discount: exp(-(distance to the last token) / RECENCY_TOKENS).
            n("CumSum", [_TOKEN_I32, P + "axis1_scalar"], [P + "position1"]),  # t + 1
            n("Unsqueeze", [LENGTHS, P + "axis1"], [P + "lengths"]),
            n("Sub", [P + "lengths", P + "position1"], [P + "distance_i32"]),
            n("Cast", [P + "distance_i32"], [P + "distance"], to=TensorProto.FLOAT),
            n(
                "Constant",
                [],
                [P + "rate"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [], [-1.0 / RECENCY_TOKENS]),
            ),
            n("Mul", [P + "distance", P + "rate"], [P + "log_weight"]),
            n("Exp", [P + "log_weight"], [P + "weight"]),
            n("Mul", [P + "step_change", P + "weight"], [P + "change"]),
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
