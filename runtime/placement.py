"""Where onnxruntime runs each node of a model: the check behind "never a silent CPU run".

    from lstm_sentiment.runtime.placement import placement
    nodes = placement(path, ["CUDAExecutionProvider", "CPUExecutionProvider"], feed)
    [n for n in nodes if n.provider == "CPUExecutionProvider"]

onnxruntime assigns each node to the first provider in the list that has a kernel for it,
and falls back to the CPU for the rest without a word: a session that reports CUDA can run
its heaviest node on the CPU (the int8 model's ``DynamicQuantizeLSTM`` has no CUDA kernel).
The session reports only its providers, not where each node went; its profile does: a
profiled session on the same providers, run once on a one-review batch, lists every node
with the provider that ran it. ``SentimentModel.load`` uses it for GPU providers.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_sentiment.runtime.errors import LstmSentimentError

CPU = "CPUExecutionProvider"
_KERNEL = "_kernel_time"  # the profile names a node's event NODE_kernel_time


class PlacementError(LstmSentimentError):
    """Nodes of a model would run on the CPU where a GPU provider was asked for."""


@dataclass(frozen=True)
class Placed:
    node: str
    op: str
    provider: str


def placement(
    model: str | Path, providers: Sequence[str], feed: Mapping[str, Any], options: Any = None
) -> list[Placed]:
    """Every node of ``model`` with the provider that ran it, from one profiled run of
    ``feed`` on ``providers`` (``options``: onnxruntime SessionOptions to start from)."""
    import onnxruntime as ort

    profiled = options if options is not None else ort.SessionOptions()
    with tempfile.TemporaryDirectory(prefix="lstm-sentiment-placement-") as folder:
        profiled.enable_profiling = True
        profiled.profile_file_prefix = str(Path(folder) / "profile")
        session = ort.InferenceSession(str(model), profiled, providers=list(providers))
        session.run(None, dict(feed))
        events = json.loads(Path(session.end_profiling()).read_text(encoding="utf-8"))
    return nodes_of(events)


def nodes_of(events: list[dict[str, Any]]) -> list[Placed]:
    """The nodes in an onnxruntime profile, each once, in the order they first ran."""
    seen: dict[str, Placed] = {}
    for event in events:
        args = event.get("args") or {}
        if event.get("cat") != "Node" or "provider" not in args:
            continue
        name = str(event.get("name", ""))
        name = name[: -len(_KERNEL)] if name.endswith(_KERNEL) else name
        seen.setdefault(name, Placed(name, str(args.get("op_name", "?")), str(args["provider"])))
    return list(seen.values())


def on_cpu(nodes: Sequence[Placed]) -> list[Placed]:
    return [n for n in nodes if n.provider == CPU]


def describe(nodes: Sequence[Placed], total: int) -> str:
    """'3 of 80 nodes ran on the CPU: DynamicQuantizeLSTM x2, Shape'."""
    ops = Counter(n.op for n in nodes)
    listed = ", ".join(f"{op} x{count}" if count > 1 else op for op, count in ops.most_common())
    return f"{len(nodes)} of {total} nodes ran on the CPU: {listed}"


def check(requested: str, nodes: Sequence[Placed], allow_cpu_nodes: bool) -> str:
    """The note for a model's summary ('' when every node ran where asked); for an explicit
    ``cuda`` or ``tensorrt`` with nodes on the CPU, a ``PlacementError`` unless allowed."""
    cpu = on_cpu(nodes)
    if not cpu:
        return ""
    note = describe(cpu, len(nodes))
    if requested in ("cuda", "tensorrt") and not allow_cpu_nodes:
        names = ", ".join(n.node for n in cpu[:5]) + (", ..." if len(cpu) > 5 else "")
        raise PlacementError(
            f"--provider {requested}: {note.replace('ran', 'would run')} ({names}); use "
            "--provider cpu, a model whose nodes all run there (fp32), or --allow-cpu-nodes "
            "to run it so"
        )
    return note
