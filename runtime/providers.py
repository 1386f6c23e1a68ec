"""Choose onnxruntime execution providers, and refuse to fall back silently.

``auto`` takes CUDA when the installed onnxruntime offers it (the ``onnxruntime-gpu``
build), else the CPU. An explicit ``cuda`` or ``tensorrt`` that is not offered is an error,
and so is one that onnxruntime offers but then fails to start (missing CUDA libraries make
onnxruntime drop to the CPU with only a log line).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from lstm_sentiment.runtime.errors import LstmSentimentError

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
CHOICES = ("auto", "cpu", "cuda", "tensorrt")
# The CLIs' --provider choices.
Provider = Enum("Provider", {name.upper(): name for name in CHOICES}, type=str)  # type: ignore[misc]
_NAMES = {CPU: "cpu", CUDA: "cuda", TENSORRT: "tensorrt"}
GPU_HINT = (
    "install the GPU build of onnxruntime in place of the CPU one: "
    "pip uninstall -y onnxruntime && pip install onnxruntime-gpu"
)


class ProviderError(LstmSentimentError):
    """The requested execution provider cannot be used here."""


def select_providers(requested: str, available: Sequence[str]) -> list[str]:
    """The provider list to create a session with, most preferred first."""
    offered = set(available)
    if requested == "cpu":
        return [CPU]
    if requested == "auto":
        return [CUDA, CPU] if CUDA in offered else [CPU]
    if requested == "cuda":
        if CUDA not in offered:
            raise ProviderError(f"--provider cuda: {_offers(available)}; {GPU_HINT}")
        return [CUDA, CPU]
    if requested == "tensorrt":
        if TENSORRT not in offered:
            raise ProviderError(
                f"--provider tensorrt: {_offers(available)}; it needs onnxruntime-gpu built "
                "with TensorRT and the TensorRT libraries"
            )
        return [TENSORRT, *([CUDA] if CUDA in offered else []), CPU]
    raise ProviderError(f"unknown provider {requested!r}; choose one of {', '.join(CHOICES)}")


def check_started(requested: str, chosen: Sequence[str], active: Sequence[str]) -> str:
    """Confirm the session runs on what was asked for; returns the short name in use."""
    first = chosen[0]
    if requested != "auto" and first not in active:
        raise ProviderError(
            f"--provider {requested}: onnxruntime offers it but could not start it (active: "
            f"{', '.join(active) or 'none'}); check the CUDA/cuDNN libraries"
        )
    return _NAMES.get(active[0], active[0]) if active else "none"


def _offers(available: Sequence[str]) -> str:
    names = ", ".join(available) or "none"
    return f"this onnxruntime offers only {names}"
