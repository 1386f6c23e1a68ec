"""Inspect a model file before onnxruntime ever sees it: model files are untrusted input.

The runtime must not depend on the ``onnx`` package, so this reads the ONNX protobuf wire
format directly, enough to refuse, with a clear reason and before a session exists:

- files that are not ONNX, or are truncated;
- external-data references that leave the model's folder (absolute paths, ``..``, links
  that resolve elsewhere) or point at missing files;
- operator domains other than the standard ones and onnxruntime's ``com.microsoft``
  (which our int8 export uses), in the graph and in any subgraph;
- inputs and outputs that match neither of our signatures (``token_ids`` int32
  ``[batch, time]`` in, or ``review`` strings ``[batch]`` in; ``positive_probability``
  float32 ``[batch]`` out, plus ``token_count`` int32 ``[batch]`` for string input);
- a missing or invalid text contract in the metadata.

ONNX-format files get every check. ORT-format (``.ort``) files are flatbuffers: they are
checked for their file identifier, size and contract metadata by onnxruntime itself and
cannot carry external data.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.signature import OPTIONAL_OUTPUTS, SIGNATURES, Kind

ALLOWED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}
MAX_DEPTH = 16  # subgraph nesting we are willing to follow


# Field numbers of the messages read here, named as in onnx.proto.
class ModelProto:
    ir_version = 1
    producer_name = 2
    graph = 7
    opset_import = 8
    metadata_props = 14
    functions = 25


class OperatorSetIdProto:
    domain = 1
    version = 2


class StringStringEntryProto:
    key = 1
    value = 2


class GraphProto:
    node = 1
    initializer = 5
    input = 11
    output = 12
    sparse_initializer = 15


class NodeProto:
    op_type = 4
    attribute = 5
    domain = 7


class AttributeProto:
    t = 5
    g = 6
    tensors = 10
    graphs = 11


class TensorProto:
    name = 8
    external_data = 13
    data_location = 14
    EXTERNAL = 1  # DataLocation


class SparseTensorProto:
    values = 1
    indices = 2


class ValueInfoProto:
    name = 1
    type = 2


class TypeProto:
    tensor_type = 1


class TypeProtoTensor:
    elem_type = 1
    shape = 2


class TensorShapeProto:
    dim = 1


class FunctionProto:
    node = 7


class ModelCheckError(LstmSentimentError):
    """The file is not a model this runtime will load; the message says why."""


class FileFormat(str, Enum):
    ONNX = "onnx"  # protobuf: every check in the module docstring
    ORT = "ort"  # onnxruntime's flatbuffer format: onnxruntime's own checks


@dataclass(frozen=True)
class CheckedFile:
    format: FileFormat
    kind: Kind | None  # None for ORT files: onnxruntime reports it after loading


@dataclass
class ValueInfo:
    name: str
    elem_type: int | None
    rank: int | None


@dataclass
class ModelSummary:
    ir_version: int = 0
    opsets: dict[str, int] = field(default_factory=dict)
    domains: set[str] = field(default_factory=set)
    op_types: set[str] = field(default_factory=set)
    inputs: list[ValueInfo] = field(default_factory=list)
    outputs: list[ValueInfo] = field(default_factory=list)
    initializers: set[str] = field(default_factory=set)
    external_locations: list[str] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    producer: str = ""


# -- protobuf wire format -----------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ModelCheckError("the file ends inside a number (truncated?)")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ModelCheckError("malformed protobuf varint")


def _fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) of one protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ModelCheckError("malformed protobuf field")
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise ModelCheckError("the file ends inside a field (truncated?)")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire == 1:
            pos += 8
            yield number, wire, 0
        elif wire == 5:
            pos += 4
            yield number, wire, 0
        else:
            raise ModelCheckError(f"malformed protobuf wire type {wire}")
        if pos > len(data):
            raise ModelCheckError("the file ends inside a field (truncated?)")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ModelCheckError("malformed protobuf: expected a string")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelCheckError("malformed protobuf: a string is not UTF-8") from None


def _message(value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise ModelCheckError("malformed protobuf: expected a message")
    return value


def _pairs(data: bytes) -> tuple[str, str]:
    key = value = ""
    for number, _, raw in _fields(data):
        if number == StringStringEntryProto.key:
            key = _text(raw)
        elif number == StringStringEntryProto.value:
            value = _text(raw)
    return key, value


# -- ONNX messages ----------------------------------------------------------------------------


def _tensor(data: bytes, summary: ModelSummary) -> str:
    name, location, external = "", 0, {}
    for number, _, raw in _fields(data):
        if number == TensorProto.name:
            name = _text(raw)
        elif number == TensorProto.data_location and isinstance(raw, int):
            location = raw
        elif number == TensorProto.external_data:
            key, value = _pairs(_message(raw))
            external[key] = value
    if location == TensorProto.EXTERNAL or external:
        summary.external_locations.append(external.get("location", ""))
    return name


def _value_info(data: bytes) -> ValueInfo:
    name, elem_type, rank = "", None, None
    for number, _, raw in _fields(data):
        if number == ValueInfoProto.name:
            name = _text(raw)
        elif number == ValueInfoProto.type:
            for t_number, _, t_raw in _fields(_message(raw)):
                if t_number == TypeProto.tensor_type:
                    for f_number, _, f_raw in _fields(_message(t_raw)):
                        if f_number == TypeProtoTensor.elem_type and isinstance(f_raw, int):
                            elem_type = f_raw
                        elif f_number == TypeProtoTensor.shape:
                            dims = _fields(_message(f_raw))
                            rank = sum(1 for n, _, _ in dims if n == TensorShapeProto.dim)
    return ValueInfo(name, elem_type, rank)


def _graph(data: bytes, summary: ModelSummary, depth: int, top: bool) -> None:
    if depth > MAX_DEPTH:
        raise ModelCheckError("subgraphs are nested too deeply")
    for number, _, raw in _fields(data):
        if number == GraphProto.node:
            _node(_message(raw), summary, depth)
        elif number in (GraphProto.initializer, GraphProto.sparse_initializer):
            if number == GraphProto.initializer:
                name = _tensor(_message(raw), summary)
            else:
                name = _sparse(raw, summary)
            if top:
                summary.initializers.add(name)
        elif number == GraphProto.input and top:
            summary.inputs.append(_value_info(_message(raw)))
        elif number == GraphProto.output and top:
            summary.outputs.append(_value_info(_message(raw)))


def _sparse(raw: int | bytes, summary: ModelSummary) -> str:
    name = ""
    for number, _, value in _fields(_message(raw)):
        if number in (SparseTensorProto.values, SparseTensorProto.indices):
            found = _tensor(_message(value), summary)
            name = name or found
    return name


def _node(data: bytes, summary: ModelSummary, depth: int) -> None:
    domain, op_type = "", ""
    for number, _, raw in _fields(data):
        if number == NodeProto.op_type:
            op_type = _text(raw)
        elif number == NodeProto.domain:
            domain = _text(raw)
        elif number == NodeProto.attribute:
            _attribute(_message(raw), summary, depth)
    summary.domains.add(domain)
    summary.op_types.add(f"{domain or 'ai.onnx'}:{op_type}")


def _attribute(data: bytes, summary: ModelSummary, depth: int) -> None:
    for number, _, raw in _fields(data):
        if number in (AttributeProto.g, AttributeProto.graphs):
            _graph(_message(raw), summary, depth + 1, top=False)
        elif number in (AttributeProto.t, AttributeProto.tensors):
            _tensor(_message(raw), summary)


def summarize(data: bytes) -> ModelSummary:
    """Parse the parts of an ONNX ``ModelProto`` that the checks need."""
    summary = ModelSummary()
    graphs = 0
    for number, _, raw in _fields(data):
        if number == ModelProto.ir_version and isinstance(raw, int):
            summary.ir_version = raw
        elif number == ModelProto.producer_name:
            summary.producer = _text(raw)
        elif number == ModelProto.opset_import:
            domain, version = "", 0
            for o_number, _, o_raw in _fields(_message(raw)):
                if o_number == OperatorSetIdProto.domain:
                    domain = _text(o_raw)
                elif o_number == OperatorSetIdProto.version and isinstance(o_raw, int):
                    version = o_raw
            summary.opsets[domain] = version
        elif number == ModelProto.graph:
            graphs += 1
            _graph(_message(raw), summary, 0, top=True)
        elif number == ModelProto.metadata_props:
            key, value = _pairs(_message(raw))
            summary.metadata[key] = value
        elif number == ModelProto.functions:  # model-local functions: their nodes count too
            for f_number, _, f_raw in _fields(_message(raw)):
                if f_number == FunctionProto.node:
                    _node(_message(f_raw), summary, 1)
    if graphs != 1 or summary.ir_version == 0:
        raise ModelCheckError("not an ONNX model (no graph or no IR version)")
    return summary


# -- the checks ---------------------------------------------------------------------------------


def check_model_file(path: Path, required_metadata: str) -> CheckedFile:
    """Raise ``ModelCheckError`` unless ``path`` passes every check in the module docstring.

    Returns the file's format and, for an ONNX file, its signature (an ORT-format file's
    signature is known only once onnxruntime has loaded it).
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelCheckError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) >= 8 and data[4:8] == b"ORTM":
        return CheckedFile(FileFormat.ORT, None)
    if len(data) < 16:
        raise ModelCheckError(f"{path} is not an ONNX model (only {len(data)} bytes)")
    try:
        summary = summarize(data)
    except ModelCheckError as error:
        raise ModelCheckError(f"{path} is not a readable ONNX model: {error}") from None
    except RecursionError:
        raise ModelCheckError(f"{path} is not a readable ONNX model: nested too deeply") from None

    foreign = sorted((summary.domains | set(summary.opsets)) - ALLOWED_DOMAINS)
    if foreign:
        raise ModelCheckError(
            f"{path} uses operator domains this runtime does not allow: {', '.join(foreign)} "
            f"(allowed: the standard ONNX domains and com.microsoft)"
        )
    for location in summary.external_locations:
        _check_external(path, location)
    inputs = [v for v in summary.inputs if v.name not in summary.initializers]
    kind = signature_of(path, inputs, summary.outputs)
    if required_metadata not in summary.metadata:
        raise ModelCheckError(
            f"{path} carries no lstm-sentiment text contract in its metadata; only models "
            "exported by lstm-sentiment can be used"
        )
    return CheckedFile(FileFormat.ONNX, kind)


def signature_of(path: Path, inputs: list[ValueInfo], outputs: list[ValueInfo]) -> Kind:
    """Which of ``SIGNATURES`` the inputs and outputs match; an error if none."""
    found = (
        [(v.name, v.elem_type, v.rank) for v in inputs],
        [(v.name, v.elem_type, v.rank) for v in outputs],
    )
    for kind, (want_in, want_out) in SIGNATURES.items():
        required, extra = found[1][: len(want_out)], found[1][len(want_out) :]
        optional = OPTIONAL_OUTPUTS[kind]
        if (
            _matches(found[0], want_in)
            and _matches(required, want_out)
            and _matches(extra, optional[: len(extra)])
        ):
            return kind
    described = "; ".join(
        f"{' + '.join(n for n, _, _ in ins)} -> {' + '.join(n for n, _, _ in outs)}"
        for ins, outs in SIGNATURES.values()
    )
    shown = [f"{n} (type {t}, rank {r})" for n, t, r in found[0]]
    shown_out = [f"{n} (type {t}, rank {r})" for n, t, r in found[1]]
    raise ModelCheckError(
        f"{path} has inputs [{', '.join(shown)}] and outputs [{', '.join(shown_out)}]; "
        f"expected one of: {described} (token_ids int32 rank 2, review string rank 1, "
        "positive_probability float32 rank 1, token_count int32 rank 1; then optionally "
        "token_effects float32 rank 2 and, after a review input, tokens string rank 2)"
    )


def _matches(found: list[tuple[str, int | None, int | None]], wanted: list[tuple]) -> bool:
    if len(found) != len(wanted):
        return False
    return all(
        name == w_name and elem == w_elem and rank in (w_rank, None)
        for (name, elem, rank), (w_name, w_elem, w_rank) in zip(found, wanted, strict=True)
    )


def _check_external(path: Path, location: str) -> None:
    folder = path.resolve().parent
    if not location or os.path.isabs(location) or ".." in Path(location).parts:
        raise ModelCheckError(
            f"{path} refers to external data at {location!r}, outside the model's folder"
        )
    target = (folder / location).resolve()
    if not target.is_relative_to(folder):
        raise ModelCheckError(
            f"{path} refers to external data at {location!r}, which resolves outside the "
            "model's folder"
        )
    if not target.is_file():
        raise ModelCheckError(f"{path} refers to external data {location!r}, which is missing")
