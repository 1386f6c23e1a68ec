"""The machine a figure came from: CPU name, the SIMD flags that matter to int8, cores.

    python -c "from lstm_sentiment.export.machine import machine; print(machine())"

Benchmarks, the quantization sweep and the model card print it beside their figures:
int8 speed and even int8 scores depend on the CPU (VNNI or not).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    """The CPU the figures came from: its name and the SIMD flags that matter to int8."""
    name, flags = platform.processor() or platform.machine(), []
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for line in info.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                name = value.strip()
            if key.strip() == "flags":
                wanted = (
                    "avx",
                    "avx2",
                    "fma",
                    "f16c",
                    "avx512f",
                    "avx512_vnni",
                    "avx_vnni",
                    "avx512_bf16",
                    "amx_int8",
                    "sse4_2",
                )
                flags = sorted(set(value.split()) & set(wanted))
                break
    except OSError:
        pass
    return {"cpu": name, "flags": flags, "cores": os.cpu_count(), "system": platform.system()}
