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
from pathlib import Path

ALLOWED_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft"}
INT32, FLOAT, STRING = 6, 1, 8  # TensorProto.DataType
# The two signatures our exports have: token ids in, or review strings in.
SIGNATURES = {
    "ids": ([("token_ids", INT32, 2)], [("positive_probability", FLOAT, 1)]),
    "text": (
        [("review", STRING, 1)],
        [("positive_probability", FLOAT, 1), ("token_count", INT32, 1)],
    ),
}
MAX_DEPTH = 16  # subgraph nesting we are willing to follow


class ModelCheckError(Exception):
    """The file is not a model this runtime will load; the message says why."""


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
        if number == 1:
            key = _text(raw)
        elif number == 2:
            value = _text(raw)
    return key, value


# -- ONNX messages ----------------------------------------------------------------------------


def _tensor(data: bytes, summary: ModelSummary) -> str:
    name, location, external = "", 0, {}
    for number, _, raw in _fields(data):
        if number == 8:
            name = _text(raw)
        elif number == 14 and isinstance(raw, int):
            location = raw
        elif number == 13:
            key, value = _pairs(_message(raw))
            external[key] = value
    if location == 1 or external:
        summary.external_locations.append(external.get("location", ""))
    return name


def _value_info(data: bytes) -> ValueInfo:
    name, elem_type, rank = "", None, None
    for number, _, raw in _fields(data):
        if number == 1:
            name = _text(raw)
        elif number == 2:
            for t_number, _, t_raw in _fields(_message(raw)):
                if t_number == 1:  # tensor_type
                    for f_number, _, f_raw in _fields(_message(t_raw)):
                        if f_number == 1 and isinstance(f_raw, int):
                            elem_type = f_raw
                        elif f_number == 2:
                            rank = sum(1 for n, _, _ in _fields(_message(f_raw)) if n == 1)
    return ValueInfo(name, elem_type, rank)


def _graph(data: bytes, summary: ModelSummary, depth: int, top: bool) -> None:
    if depth > MAX_DEPTH:
        raise ModelCheckError("subgraphs are nested too deeply")
    for number, _, raw in _fields(data):
        if number == 1:
            _node(_message(raw), summary, depth)
        elif number in (5, 15):  # initializer, sparse_initializer
            name = _tensor(_message(raw), summary) if number == 5 else _sparse(raw, summary)
            if top:
                summary.initializers.add(name)
        elif number == 11 and top:
            summary.inputs.append(_value_info(_message(raw)))
        elif number == 12 and top:
            summary.outputs.append(_value_info(_message(raw)))


def _sparse(raw: int | bytes, summary: ModelSummary) -> str:
    name = ""
    for number, _, value in _fields(_message(raw)):
        if number in (1, 2):  # values, indices
            found = _tensor(_message(value), summary)
            name = name or found
    return name


def _node(data: bytes, summary: ModelSummary, depth: int) -> None:
    domain, op_type = "", ""
    for number, _, raw in _fields(data):
        if number == 4:
            op_type = _text(raw)
        elif number == 7:
            domain = _text(raw)
        elif number == 5:
            _attribute(_message(raw), summary, depth)
    summary.domains.add(domain)
    summary.op_types.add(f"{domain or 'ai.onnx'}:{op_type}")


def _attribute(data: bytes, summary: ModelSummary, depth: int) -> None:
    for number, _, raw in _fields(data):
        if number in (6, 11):  # g, graphs
            _graph(_message(raw), summary, depth + 1, top=False)
        elif number in (5, 10):  # t, tensors
            _tensor(_message(raw), summary)


def summarize(data: bytes) -> ModelSummary:
    """Parse the parts of an ONNX ``ModelProto`` that the checks need."""
    summary = ModelSummary()
    graphs = 0
    for number, _, raw in _fields(data):
        if number == 1 and isinstance(raw, int):
            summary.ir_version = raw
        elif number == 2:
            summary.producer = _text(raw)
        elif number == 8:
            domain, version = "", 0
            for o_number, _, o_raw in _fields(_message(raw)):
                if o_number == 1:
                    domain = _text(o_raw)
                elif o_number == 2 and isinstance(o_raw, int):
                    version = o_raw
            summary.opsets[domain] = version
        elif number == 7:
            graphs += 1
            _graph(_message(raw), summary, 0, top=True)
        elif number == 14:
            key, value = _pairs(_message(raw))
            summary.metadata[key] = value
        elif number == 25:  # model-local functions: their nodes count too
            for f_number, _, f_raw in _fields(_message(raw)):
                if f_number == 7:
                    _node(_message(f_raw), summary, 1)
    if graphs != 1 or summary.ir_version == 0:
        raise ModelCheckError("not an ONNX model (no graph or no IR version)")
    return summary


# -- the checks ---------------------------------------------------------------------------------


def check_model_file(path: Path, required_metadata: str) -> str | None:
    """Raise ``ModelCheckError`` unless ``path`` passes every check in the module docstring.

    Returns the signature of an ONNX file (``"ids"`` or ``"text"``), or ``None`` for an
    ORT-format file, whose signature onnxruntime reports after loading it.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelCheckError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) >= 8 and data[4:8] == b"ORTM":
        return None
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
    return kind


def signature_of(path: Path, inputs: list[ValueInfo], outputs: list[ValueInfo]) -> str:
    """Which of ``SIGNATURES`` the inputs and outputs match; an error if none."""
    found = (
        [(v.name, v.elem_type, v.rank) for v in inputs],
        [(v.name, v.elem_type, v.rank) for v in outputs],
    )
    for kind, (want_in, want_out) in SIGNATURES.items():
        if _matches(found[0], want_in) and _matches(found[1], want_out):
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
        "positive_probability float32 rank 1, token_count int32 rank 1)"
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
