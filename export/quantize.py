"""Dynamic int8 quantization of the fp32 export with onnxruntime's quantization tools.

    python -m benchmarks.quantize runtime/models/lstm-sentiment-fp32.onnx   # every option

The default options are the ones that benchmark measured best by label agreement with fp32
on training reviews (docs/models.md has the figures). All three op types are quantized: the
embedding's Gather holds most of the weights. ``reduce_range`` (7-bit weights) avoids the
int8 saturation that CPUs without VNNI can hit. The result uses onnxruntime contrib
operators (``com.microsoft.DynamicQuantizeLSTM``, ``DynamicQuantizeMatMul``) and so runs on
onnxruntime only.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lstm_sentiment.train.quiet import is_verbose


@dataclass(frozen=True)
class QuantOptions:
    weight_type: str = "QInt8"  # or "QUInt8"
    per_channel: bool = True
    reduce_range: bool = True
    op_types: tuple[str, ...] = field(default=("Gather", "LSTM", "MatMul"))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["op_types"] = list(self.op_types)
        return data


def quantize(fp32_path: Path, int8_path: Path, options: QuantOptions = QuantOptions()) -> None:
    """Write the dynamically quantized copy of ``fp32_path`` to ``int8_path``."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime advises shape pre-processing on every call; it is for static quantization
    # of convolutional nets and changes nothing here, so the advice is shown with --verbose.
    quiet = None if is_verbose() else _DropAdvice()
    root = logging.getLogger()
    if quiet:
        root.addFilter(quiet)
    try:
        quantize_dynamic(
            str(fp32_path),
            str(int8_path),
            weight_type=QuantType[options.weight_type],
            per_channel=options.per_channel,
            reduce_range=options.reduce_range,
            op_types_to_quantize=list(options.op_types),
        )
    finally:
        if quiet:
            root.removeFilter(quiet)


class _DropAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()
