"""TensorFlow's start-up lines, shown only with ``--verbose``: the one place that decides.

    from lstm_sentiment.train.quiet import import_quietly, set_verbose
    set_verbose(False)            # the entry points call this before any command runs
    import_quietly("keras")       # imports TensorFlow with its C++ start-up lines unshown

TensorFlow's C++ code writes its absl and oneDNN start-up lines straight to file descriptor
2 when it is first imported, before ``TF_CPP_MIN_LOG_LEVEL`` is read for them, so the
variable alone does not quiet them: the first import runs with descriptor 2 pointed at
/dev/null instead. Later imports of TensorFlow are then no-ops and print nothing.
"""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def set_verbose(verbose: bool) -> None:
    """Show (``True``) or hide TensorFlow's log lines for the rest of this process."""
    os.environ[_LEVEL] = "0" if verbose else "3"


def is_verbose() -> bool:
    return os.environ.get(_LEVEL, "3") in ("0", "1")


def import_quietly(module: str) -> ModuleType:
    """Import ``module``; unless verbose, what C++ code writes to stderr meanwhile is
    dropped. An ImportError still reaches the caller (its message is not printed)."""
    os.environ.setdefault(_LEVEL, "3")
    if is_verbose() or module in sys.modules:
        return importlib.import_module(module)
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (a service): nothing to quiet
        return importlib.import_module(module)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        return importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
