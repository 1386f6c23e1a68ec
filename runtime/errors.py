"""The one base of every expected failure, carrying the exit code the command lines use.

A library function raises a subclass with a message meant for the user; each command line
maps them all in one place (``runtime/console.py``): one ``error:`` line, that exit code,
never a traceback.
"""

from __future__ import annotations

EXIT_FAILED_GATE = 1  # an export that failed its numeric gates
EXIT_BAD_INPUT = 2  # bad usage, input, model, config or output: nothing was written
EXIT_ROW_ERRORS = 3  # some records became error records (scorer batch)
EXIT_TOO_MANY_ERRORS = 4  # more error records than --max-errors: nothing was written
EXIT_FAILED_INPUTS = 5  # a job of many files: some input files could not be scored at all
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # stdout was closed by its reader (| head): 128 + SIGPIPE, as a shell says


class LstmSentimentError(Exception):
    """An expected failure; ``exit_code`` is what a command line exits with."""

    exit_code = EXIT_BAD_INPUT


class InputError(LstmSentimentError):
    """The input as a whole cannot be read; the message names the line where it can."""


class ModelError(LstmSentimentError):
    """A model file is missing, unreadable, or does not describe itself as ours."""
