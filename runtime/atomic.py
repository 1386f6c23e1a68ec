"""Write a file so that readers see either nothing or the whole of it.

Output goes to a hidden temporary file beside the target and is renamed over it only when
the ``with`` block finishes without an error; a failure never leaves a partial file at the
target path. A killed process cannot clean up: its temporary file, ``.NAME.PID.*.partial``,
is removed by the next write to the same target once process PID is gone.
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
    remove_stale(target)
    prefix = f".{target.name}.{os.getpid()}."
    fd, temp = tempfile.mkstemp(prefix=prefix, suffix=".partial", dir=target.parent)
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


def remove_stale(target: Path) -> list[Path]:
    """Delete temporary files of ``target`` left by processes that no longer run."""
    removed = []
    for leftover in target.parent.glob(f".{_glob_escape(target.name)}.*.partial"):
        pid = leftover.name[len(target.name) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or not _alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed.append(leftover)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return True


def _glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)
