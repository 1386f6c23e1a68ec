"""What the command lines share: the error line, the error-to-exit-code mapping, progress.

app = App(help="...")          # a typer.Typer whose commands map LstmSentimentError
raise fail("no such file")     # one red 'error:' line on stderr, exit code 2
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

import typer

from lstm_sentiment.runtime import __version__
from lstm_sentiment.runtime.errors import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    LstmSentimentError,
)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print ``error: message`` on stderr; returns the ``typer.Exit`` to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


class App(typer.Typer):
    """A ``typer.Typer`` whose every command turns an ``LstmSentimentError`` into its one
    ``error:`` line and exit code (also under ``typer.testing.CliRunner``)."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Any]:
        register = super().command(*args, **kwargs)

        def decorator(function: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(function)
            def mapped(*a: Any, **kw: Any) -> Any:
                try:
                    return function(*a, **kw)
                except LstmSentimentError as error:
                    raise fail(str(error), error.exit_code) from None
                except BrokenPipeError:
                    # The reader of stdout is gone (``| head``): stop quietly, as Unix tools do.
                    _silence_stdout()
                    raise typer.Exit(EXIT_BROKEN_PIPE) from None

            register(mapped)
            return function

        return decorator


def choice_value(choice: Any) -> Any:
    """An Enum option's string value (None stays None)."""
    return None if choice is None else getattr(choice, "value", choice)


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush cannot complain."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


VersionOption = Annotated[bool, typer.Option("--version", help="Print the version and exit.")]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="Show the libraries' own log lines too.")
]


def add_version_option(app: typer.Typer, on_verbose: Callable[[bool], None] | None = None) -> None:
    """``--version`` on the app itself (prints ``lstm-sentiment VERSION``), and ``--verbose``
    when ``on_verbose`` is given (called with its value before any command runs)."""

    def version_asked(version: bool) -> None:
        if version:
            typer.echo(f"lstm-sentiment {__version__}")
            raise typer.Exit(0)

    if on_verbose is None:

        @app.callback(invoke_without_command=True)
        def _root(version: VersionOption = False) -> None:
            version_asked(version)

    else:

        @app.callback(invoke_without_command=True)
        def _root_verbose(version: VersionOption = False, verbose: VerboseOption = False) -> None:
            on_verbose(verbose)
            version_asked(version)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


_on_interrupt: list[str] = []  # what an interrupt leaves behind, when a command knows better


@contextlib.contextmanager
def interrupt_leaves(text: str) -> Iterator[None]:
    """While inside, an interrupt's line says ``text`` instead of the entry point's
    ``after_failure`` (a job keeps its finished files, for example)."""
    _on_interrupt.append(text)
    try:
        yield
    except KeyboardInterrupt:
        raise  # the note stays for run() to print on the way out
    except BaseException:
        _on_interrupt.pop()
        raise
    else:
        _on_interrupt.pop()


def run(app: typer.Typer, after_failure: str = "", extras: Mapping[str, str] | None = None) -> None:
    """Run a console entry point: Ctrl-C ends quietly with exit code 130, and an unexpected
    failure prints one line (``LSTM_SENTIMENT_DEBUG=1`` shows the traceback) with exit code
    1. ``after_failure`` is said after either (for example "nothing was written").
    ``extras`` maps a module the commands import lazily to the install extra that brings it,
    so that a command run without it names the install command (exit code 2)."""
    tail = f"; {after_failure}" if after_failure else ""
    _on_interrupt.clear()

    def interrupted() -> None:
        said = _on_interrupt[-1] if _on_interrupt else after_failure
        typer.echo("interrupted" + (f"; {said}" if said else ""), err=True)

    # SIGTERM (kill, timeout, a scheduler) unwinds like Ctrl-C, so that temporary files are
    # removed on the way out instead of being left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        app()
    except KeyboardInterrupt:
        interrupted()
        raise SystemExit(EXIT_INTERRUPTED) from None
    except SystemExit as leaving:
        # Typer turns an interrupt inside a command into a silent exit 130.
        if leaving.code == EXIT_INTERRUPTED:
            interrupted()
        raise
    except Exception as error:
        if os.environ.get("LSTM_SENTIMENT_DEBUG"):
            raise
        top = (getattr(error, "name", None) or "").partition(".")[0]
        extra = (extras or {}).get(top) if isinstance(error, ModuleNotFoundError) else None
        if extra:
            fail(
                f"this command needs {top}, which comes with the '{extra}' extra: "
                f"pip install 'lstm-sentiment[{extra}]'{tail}"
            )
            raise SystemExit(EXIT_BAD_INPUT) from None
        typer.echo(
            f"error: unexpected failure ({type(error).__name__}: {error}){tail}. "
            "Please report it; LSTM_SENTIMENT_DEBUG=1 shows the traceback.",
            err=True,
        )
        raise SystemExit(1) from None


class Progress:
    """A rich progress bar on stderr, shown only when stderr is a terminal and ``enabled``.

    ``update(done, total)`` moves it; ``total`` may be None (unknown).
    """

    def __init__(
        self,
        description: str,
        total: int | None = None,
        enabled: bool = True,
        *,
        in_bytes: bool = False,
    ) -> None:
        self.description, self.total, self.in_bytes = description, total, in_bytes
        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich import progress as rich
            from rich.console import Console

            columns = [*rich.Progress.get_default_columns()]
            if self.in_bytes:
                columns += [rich.DownloadColumn(), rich.TransferSpeedColumn()]
            self.bar = rich.Progress(*columns, transient=True, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=self.total)
        return self

    def update(self, done: int, total: int | None = None) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total or self.total)

    def advance(self, amount: int) -> None:
        if self.bar is not None:
            self.bar.advance(self.task, amount)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
