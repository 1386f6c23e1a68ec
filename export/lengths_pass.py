"""Make a converted LSTM graph honour each review's true length.

tf2onnx turns a Keras LSTM fed by ``Embedding(mask_zero=True)`` into a slow ``Loop``
(tf2onnx issue #1871). Converting the unmasked twin of the model gives onnxruntime's native
``LSTM`` operator instead, but that twin runs over the padding too. This pass restores the
mask's meaning inside the graph:

1. ``lengths = ReduceSum(Cast(token_ids != 0))``. Under the text contract a review's ids are
   never 0 and padding comes only after them, so this is each review's true length.
2. Every ``LSTM`` node gets ``lengths`` as its ``sequence_lens`` input: it stops at each
   review's end, and its outputs past that end are zeros that the next LSTM never reads. A
   bidirectional first layer's backward half starts at each review's own end.
3. The classifier head reads the last LSTM's final hidden state ``Y_h`` (taken at each
   review's own last step) instead of the last time step of ``Y`` (a padding step).

The result gives the same score to a review whatever it is padded to, as the masked Keras
model does, while running the native operator. ``export.validate`` proves it on real reviews.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from lstm_sentiment.runtime.signature import IDS

LENGTHS = "sequence_lengths"


class GraphPassError(RuntimeError):
    """The converted graph does not have the shape this pass knows how to rewrite."""


def apply_lengths_pass(model: onnx.ModelProto, ids_input: str = IDS) -> onnx.ModelProto:
    """Rewrite ``model`` in place (and return it) as described in the module docstring."""
    graph = model.graph
    lstms = [node for node in graph.node if node.op_type == "LSTM"]
    if not lstms:
        raise GraphPassError("the converted graph has no native LSTM node (was it a Loop?)")
    if ids_input not in {i.name for i in graph.input}:
        raise GraphPassError(f"the converted graph has no input named {ids_input!r}")

    graph.node.insert(0, helper.make_node("Constant", [], ["lp_zero"], value=_int_scalar(0)))
    graph.node.insert(1, helper.make_node("Equal", [ids_input, "lp_zero"], ["lp_is_pad"]))
    graph.node.insert(2, helper.make_node("Not", ["lp_is_pad"], ["lp_is_token"]))
    graph.node.insert(
        3, helper.make_node("Cast", ["lp_is_token"], ["lp_token_i32"], to=TensorProto.INT32)
    )
    graph.node.insert(4, helper.make_node("Constant", [], ["lp_axis"], value=_int64_vector([1])))
    graph.node.insert(
        5, helper.make_node("ReduceSum", ["lp_token_i32", "lp_axis"], [LENGTHS], keepdims=0)
    )

    for lstm in lstms:
        direction = _attr(lstm, "direction", b"forward")
        # A bidirectional LSTM's backward half then starts at each review's own last token,
        # as under the Keras mask. The classifier reads the last LSTM's one final state, so
        # that one must run forward.
        last = lstm is lstms[-1]
        if direction not in ((b"forward",) if last else (b"forward", b"bidirectional")):
            where = " as the last layer" if last else ""
            raise GraphPassError(f"{lstm.name}: {direction.decode()} LSTMs are unsupported{where}")
        while len(lstm.input) < 5:
            lstm.input.append("")
        lstm.input[4] = LENGTHS

    _read_final_state(graph, lstms[-1])
    _drop_dead_nodes(graph)
    return model


def _read_final_state(graph: onnx.GraphProto, last: onnx.NodeProto) -> None:
    """Point the consumer of the last LSTM's final time step at its ``Y_h`` instead."""
    y = last.output[0]
    consumers = _consumers(graph)
    # tf2onnx emits LSTM -> Squeeze(axis 1, num_directions) -> Slice(last step) -> Squeeze.
    chain = []
    name = y
    for op in ("Squeeze", "Slice", "Squeeze"):
        users = consumers.get(name, [])
        if len(users) != 1 or users[0].op_type != op:
            raise GraphPassError(
                f"expected {op} after {name} in the converted graph, found "
                f"{[u.op_type for u in users]}; the tf2onnx output changed"
            )
        chain.append(users[0])
        name = users[0].output[0]
    last_step = chain[-1].output[0]
    if len(last.output) < 2 or not last.output[1]:
        while len(last.output) < 2:
            last.output.append("")
        last.output[1] = f"{last.name}_Y_h"
    graph.node.append(helper.make_node("Constant", [], ["lp_dir_axis"], value=_int64_vector([0])))
    graph.node.append(
        helper.make_node("Squeeze", [last.output[1], "lp_dir_axis"], ["lp_final_state"])
    )
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name == last_step:
                node.input[i] = "lp_final_state"
    for output in graph.output:
        if output.name == last_step:
            raise GraphPassError("the last time step is itself a graph output")


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    return users


def _drop_dead_nodes(graph: onnx.GraphProto) -> None:
    """Remove nodes whose outputs nothing reads, and initializers no node reads."""
    # Constants were prepended and the Y_h squeeze appended: order the nodes first, so that
    # walking backwards meets every consumer before its producers.
    _sort_topologically(graph)
    needed = {o.name for o in graph.output}
    alive: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(o and o in needed for o in node.output):
            alive.append(node)
            needed.update(i for i in node.input if i)
    keep = list(reversed(alive))
    del graph.node[:]
    graph.node.extend(keep)
    used = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(used)


def _sort_topologically(graph: onnx.GraphProto) -> None:
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending = list(graph.node)
    ordered: list[onnx.NodeProto] = []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            missing = sorted({i for n in pending for i in n.input if i not in available})
            raise GraphPassError(f"the rewritten graph cannot be ordered; unresolved: {missing}")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        done = {id(n) for n in ready}
        pending = [n for n in pending if id(n) not in done]
    del graph.node[:]
    graph.node.extend(ordered)


def _attr(node: onnx.NodeProto, name: str, default: object) -> object:
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _int_scalar(value: int) -> onnx.TensorProto:
    return helper.make_tensor("value", TensorProto.INT32, [], [value])


def _int64_vector(values: list[int]) -> onnx.TensorProto:
    return helper.make_tensor("value", TensorProto.INT64, [len(values)], values)
