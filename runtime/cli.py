"""``scorer``: score review files with the exported ONNX model, compare models, inspect one.

    scorer batch reviews.csv                      # -> reviews.scores.csv
    scorer batch reviews.jsonl -o - --model int8  # JSON Lines in, CSV on stdout
    scorer compare imdb-test.csv                  # fp32 vs int8 on a labelled file
    scorer info int8
    python -m lstm_sentiment.runtime --help

Exit codes of ``batch``: 0 every record scored; 2 bad usage or unreadable input (nothing is
written); 3 some records became error records (the output has them, with the reason);
4 more error records than --max-errors (nothing is written); 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lstm_sentiment.runtime import __version__

# numpy and onnxruntime are imported inside the commands, so that --help stays instant.
FORMATS = ("csv", "tsv", "jsonl", "parquet")
OUTPUT_FORMATS = FORMATS

EXIT_OK, EXIT_USAGE, EXIT_ROW_ERRORS, EXIT_TOO_MANY_ERRORS, EXIT_INTERRUPTED = 0, 2, 3, 4, 130

app = typer.Typer(
    help="Score movie reviews with the lstm-sentiment ONNX model (no TensorFlow needed).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ModelOption = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="fp32 (the default), int8, or a path to an .onnx or .ort file."
    ),
]
ProviderOption = Annotated[
    str,
    typer.Option(
        help="Execution provider: auto (CUDA when onnxruntime-gpu offers it, else CPU), cpu, "
        "cuda or tensorrt. An explicit one that is not available is an error."
    ),
]
TextColumnOption = Annotated[
    str | None,
    typer.Option(
        help="Column (or JSON field) with the review text. Default: 'review', "
        "'text', or the only column."
    ),
]
FormatOption = Annotated[
    str | None,
    typer.Option(
        "--format", help=f"Input format: {', '.join(FORMATS)}. Default: by extension (stdin: csv)."
    ),
]
DelimiterOption = Annotated[
    str | None, typer.Option(help="CSV field delimiter (default ',', tab for .tsv).")
]
EncodingOption = Annotated[
    str, typer.Option(help="Text encoding of the input, e.g. utf-8 (default) or cp1252.")
]


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _load(model: str, provider: str, threads: int | None = None) -> Any:
    from lstm_sentiment.runtime.model import ModelError, SentimentModel
    from lstm_sentiment.runtime.providers import ProviderError

    try:
        return SentimentModel.load(model, provider, threads)
    except (ModelError, ProviderError) as error:
        raise fail(str(error)) from None


def _default_output(input_path: str, fmt: str | None) -> str:
    if input_path == "-":
        return "-"
    extension = {"tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}.get(fmt or "", ".csv")
    return f"{Path(input_path).stem}.scores{extension}"


@app.command()
def batch(
    input: Annotated[str, typer.Argument(help="CSV, TSV, JSON Lines or Parquet file; - is stdin.")],
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Output file (.csv, .tsv, .jsonl, .parquet) or - for "
            "stdout. Default: INPUT-NAME.scores.csv in the current folder.",
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(help=f"Output format: {', '.join(OUTPUT_FORMATS)}. Default: by extension."),
    ] = None,
    model: ModelOption = "fp32",
    provider: ProviderOption = "auto",
    text_column: TextColumnOption = None,
    id_column: Annotated[
        str | None,
        typer.Option(help="Column passed through as 'id'. Default: the 1-based record number."),
    ] = None,
    input_format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = "utf-8",
    max_errors: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Stop with exit code 4, writing nothing, once more records than "
            "this cannot be scored.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Reviews per model call.")] = 64,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Model calls run at once. Default: one per core (at most 4) "
            "on the CPU, 1 on a GPU.",
        ),
    ] = None,
    window: Annotated[
        int, typer.Option(min=1, help="Records read and length-sorted together.")
    ] = 8192,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="onnxruntime intra-op threads per model call. Default: 1 on "
            "the CPU, onnxruntime's choice on a GPU.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar, no summary.")
    ] = False,
) -> None:
    """Score every record of INPUT: one output record per input record, in input order, with
    id, score (probability of positive), label and error."""
    from lstm_sentiment.runtime.batch import BatchOptions, TooManyErrors, score_file
    from lstm_sentiment.runtime.readers import InputError, InputSpec
    from lstm_sentiment.runtime.writers import OutputError

    spec = InputSpec(input, input_format, delimiter, encoding, text_column, id_column)
    target = output or _default_output(input, output_format)
    options = BatchOptions(
        model=model,
        provider=provider,
        batch_size=batch_size,
        window=window,
        threads=threads,
        max_errors=max_errors,
        output_format=output_format,
        workers=workers,
    )
    from lstm_sentiment.runtime.batch import parallelism
    from lstm_sentiment.runtime.providers import ProviderError

    try:
        threads, options.workers = parallelism(provider, threads, workers)
    except ProviderError as error:
        raise fail(str(error)) from None
    loaded = _load(model, provider, threads)
    show = not quiet and sys.stderr.isatty()
    try:
        with _Progress(show) as progress:
            summary = score_file(spec, target, options, loaded, progress.update)
    except (InputError, OutputError) as error:
        raise fail(str(error)) from None
    except TooManyErrors as error:
        raise fail(f"{error}; nothing was written", EXIT_TOO_MANY_ERRORS) from None
    if not quiet:
        _print_summary(summary, target)
    if summary.errors:
        raise typer.Exit(EXIT_ROW_ERRORS)


def _print_summary(summary: Any, target: str) -> None:
    where = "stdout" if target == "-" else target
    typer.echo(
        f"{summary.rows:,} read, {summary.scored:,} scored, {summary.errors:,} errors; "
        f"{summary.share_positive:.1%} positive; {summary.seconds:.2f} s, "
        f"{summary.per_second:,.0f} reviews/s on {summary.provider}; wrote {where}",
        err=True,
    )
    for line in summary.first_errors:
        typer.echo(f"  error at {line}", err=True)


class _Progress:
    """A rich progress bar on stderr, by bytes of input read."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=_stderr_console())
            self.bar.start()
            self.task = self.bar.add_task("scoring", total=None)
        return self

    def update(self, done: int, total: int | None) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


@app.command()
def info(
    model: Annotated[
        str, typer.Argument(help="fp32, int8, or a path to an .onnx or .ort file.")
    ] = "fp32",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Print what a model says about itself: contract, labels, threshold, opset,
    quantization, evaluation figures, inputs and outputs."""
    loaded = _load(model, "cpu")
    meta = loaded.metadata
    session = loaded.session
    details = {
        "path": str(loaded.path),
        "model_version": meta.get("model_version"),
        "variant": meta.get("variant"),
        "contract_version": loaded.contract.to_dict()["version"],
        "vocab_size": loaded.contract.vocab_size,
        "max_length": loaded.contract.max_length,
        "keep": loaded.contract.keep,
        "labels": list(loaded.labels),
        "threshold": loaded.threshold,
        "opset": (meta.get("exporter") or {}).get("opset"),
        "quantization": meta.get("quantization"),
        "evaluation": (meta.get("evaluation") or {}).get("this_model"),
        "inputs": [_io(i) for i in session.get_inputs()],
        "outputs": [_io(o) for o in session.get_outputs()],
        "file_bytes": loaded.path.stat().st_size,
    }
    if as_json:
        typer.echo(json.dumps(details, indent=2))
        return
    evaluation = details.pop("evaluation") or {}
    for key, value in details.items():
        typer.echo(f"{key:17} {value}")
    if evaluation:
        figures = ", ".join(
            f"{k} {evaluation[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
        )
        typer.echo(f"{'evaluation':17} test split (n={evaluation['n']:,}): {figures}")


def _io(arg: Any) -> dict[str, Any]:
    return {"name": arg.name, "type": arg.type, "shape": list(arg.shape)}


@app.command()
def compare(
    labelled: Annotated[str, typer.Argument(help="A labelled CSV/TSV/JSONL/Parquet file.")],
    models: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="A model to compare (repeat). Default: fp32 and int8."),
    ] = None,
    label_column: Annotated[
        str, typer.Option(help="Column with the true label: 1/0, pos/neg or positive/negative.")
    ] = "label",
    text_column: TextColumnOption = None,
    input_format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = "utf-8",
    provider: ProviderOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Write a PNG: scores of the first two models against each other, "
            "and reliability curves."
        ),
    ] = None,
) -> None:
    """Accuracy, precision, recall, F1, ROC-AUC, agreement, |Δp|, size and speed of models
    on a labelled file."""
    from lstm_sentiment.runtime.compare import CompareError, compare_models, render_table
    from lstm_sentiment.runtime.readers import InputError, InputSpec

    spec = InputSpec(labelled, input_format, delimiter, encoding, text_column, None)
    loaded = [_load(m, provider) for m in (models or ["fp32", "int8"])]
    try:
        report = compare_models(spec, label_column, loaded, names=models or ["fp32", "int8"])
        if plot is not None:
            from lstm_sentiment.runtime.compare import plot_comparison

            plot_comparison(report, plot)
    except (InputError, CompareError) as error:
        raise fail(str(error)) from None
    public = {k: v for k, v in report.items() if not k.startswith("_")}
    typer.echo(json.dumps(public, indent=2) if as_json else render_table(public))


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"lstm-sentiment {__version__}")
        raise typer.Exit(0)


def main() -> None:
    """Console entry point: Ctrl-C ends quietly with exit code 130, and an unexpected failure
    prints one line (set LSTM_SENTIMENT_DEBUG=1 for the traceback) with exit code 1."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted; nothing was written", err=True)
        raise SystemExit(EXIT_INTERRUPTED) from None
    except Exception as error:
        if os.environ.get("LSTM_SENTIMENT_DEBUG"):
            raise
        typer.echo(
            f"error: unexpected failure ({type(error).__name__}: {error}); nothing was written. "
            "Please report it; LSTM_SENTIMENT_DEBUG=1 shows the traceback.",
            err=True,
        )
        raise SystemExit(1) from None
