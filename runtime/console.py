"""What the command lines share: the error line, the error-to-exit-code mapping, progress.

app = App(help="...")          # a typer.Typer whose commands map LstmSentimentError
raise fail("no such file")     # one red 'error:' line on stderr, exit code 2
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import typer

from lstm_sentiment.runtime.errors import EXIT_BAD_INPUT, LstmSentimentError


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

            register(mapped)
            return function

        return decorator


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
