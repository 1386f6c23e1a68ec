"""The hand-written ONNX reader in runtime/model_check.py agrees with onnx.load.

The runtime reads model files without the onnx package, so these generated models hold its
reader to the reference parser: same IR version, opsets, node domains, inputs, outputs,
initializers, external-data references and metadata.
"""

from __future__ import annotations

import contextlib

import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, external_data_helper, helper

from lstm_sentiment.runtime.model_check import ModelCheckError, summarize

NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
ELEM = st.sampled_from([TensorProto.FLOAT, TensorProto.INT32, TensorProto.STRING])
DOMAIN = st.sampled_from(["", "ai.onnx.ml", "com.microsoft", "com.example"])


@st.composite
def models(draw: st.DrawFn) -> onnx.ModelProto:
    inputs = [
        helper.make_tensor_value_info(
            draw(NAME), draw(ELEM), ["n"] * draw(st.integers(0, 3)) or None
        )
        for _ in range(draw(st.integers(1, 3)))
    ]
    outputs = [
        helper.make_tensor_value_info(draw(NAME), draw(ELEM), ["n"] * draw(st.integers(0, 2)))
        for _ in range(draw(st.integers(1, 2)))
    ]
    initializers = []
    for i in range(draw(st.integers(0, 3))):
        tensor = helper.make_tensor(f"w{i}", TensorProto.FLOAT, [2], [1.0, 2.0])
        if draw(st.booleans()):
            tensor = helper.make_tensor(f"w{i}", TensorProto.FLOAT, [2], b"\0" * 8, raw=True)
            external_data_helper.set_external_data(tensor, location=draw(NAME))
            tensor.ClearField("raw_data")
        initializers.append(tensor)
    nodes = []
    for i in range(draw(st.integers(0, 4))):
        domain = draw(DOMAIN)
        attributes = {}
        if draw(st.booleans()):  # a subgraph whose node has its own domain
            inner = helper.make_node("Op", [], ["y"], domain=draw(DOMAIN))
            attributes["body"] = helper.make_graph([inner], "g", [], [])
        nodes.append(helper.make_node("Op", [], [f"out{i}"], domain=domain, **attributes))
    graph = helper.make_graph(nodes, draw(NAME), inputs, outputs, initializer=initializers)
    opsets = {"": draw(st.integers(1, 22))}
    opsets.update({d: draw(st.integers(1, 5)) for d in draw(st.lists(DOMAIN, max_size=2)) if d})
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()]
    )
    model.producer_name = draw(NAME)
    for _ in range(draw(st.integers(0, 3))):
        entry = model.metadata_props.add()
        entry.key, entry.value = draw(NAME), draw(st.text(max_size=40))
    return model


def _domains(graph: onnx.GraphProto) -> set[str]:
    found = set()
    for node in graph.node:
        found.add(node.domain)
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                found |= _domains(attribute.g)
    return found


@settings(max_examples=150, deadline=None)
@given(model=models())
def test_the_reader_sees_what_onnx_load_sees(model):
    data = model.SerializeToString()
    reference = onnx.load_from_string(data)
    summary = summarize(data)
    assert summary.ir_version == reference.ir_version
    assert summary.producer == reference.producer_name
    assert summary.opsets == {o.domain: o.version for o in reference.opset_import}
    assert summary.domains == _domains(reference.graph)
    assert summary.initializers == {t.name for t in reference.graph.initializer}
    assert summary.metadata == {p.key: p.value for p in reference.metadata_props}
    expected_locations = [
        entry.value
        for t in reference.graph.initializer
        for entry in t.external_data
        if entry.key == "location"
    ]
    assert summary.external_locations == expected_locations

    def infos(values: list[onnx.ValueInfoProto]) -> list[tuple[str, int, int | None]]:
        return [
            (
                v.name,
                v.type.tensor_type.elem_type,
                len(v.type.tensor_type.shape.dim) if v.type.tensor_type.HasField("shape") else None,
            )
            for v in values
        ]

    assert [(v.name, v.elem_type, v.rank) for v in summary.inputs] == infos(reference.graph.input)
    assert [(v.name, v.elem_type, v.rank) for v in summary.outputs] == infos(reference.graph.output)


@settings(max_examples=60, deadline=None)
@given(model=models(), cut=st.floats(0.05, 0.95))
def test_a_cut_off_model_is_refused_or_read_without_crashing(model, cut):
    data = model.SerializeToString()
    # Refused (the usual outcome: the cut lands inside a field) or read: never a crash.
    with contextlib.suppress(ModelCheckError):
        summarize(data[: int(len(data) * cut)])


def test_bytes_that_are_not_protobuf_are_refused():
    with pytest.raises(ModelCheckError):
        summarize(b"\xff" * 64)
