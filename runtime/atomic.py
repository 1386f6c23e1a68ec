"""Write a file so that readers see either nothing or the whole of it.

Output goes to a hidden temporary file beside the target and is renamed over it only when
the ``with`` block finishes without an error; a failure (or a kill) never leaves a partial
file at the target path.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def _default_mode() -> int:
    # mkstemp makes 0600 files; the finished file should get the user's usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(
    target: str | Path, *, text: bool = False, encoding: str = "utf-8"
) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``target`` and move it into place on success."""
    target = Path(target)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        os.fchmod(fd, _default_mode())
        out = os.fdopen(fd, "w", encoding=encoding, newline="") if text else os.fdopen(fd, "wb")
        with out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
