"""``scorer``: score review files with the exported ONNX model, compare models, inspect one.

    scorer score "Not bad at all."                # one review: its score and label
    scorer batch reviews.csv                      # -> reviews.scores.csv
    scorer batch reviews.jsonl -o - --model int8  # JSON Lines in, CSV on stdout
    scorer compare imdb-test.csv                  # fp32 vs int8 on a labelled file
    scorer info int8
    python -m lstm_sentiment.runtime --help

Exit codes of ``batch``: 0 every record scored; 2 bad usage or unreadable input (nothing is
written); 3 some records became error records (the output has them, with the reason);
4 more error records than --max-errors (nothing is written); 130 interrupted; 141 stdout was
closed by its reader (``| head``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from lstm_sentiment.runtime.batch import BatchOptions, Summary
from lstm_sentiment.runtime.console import (
    App,
    Progress,
    add_version_option,
    choice_value,
    fail,
    interrupt_leaves,
    run,
)
from lstm_sentiment.runtime.errors import EXIT_FAILED_INPUTS, EXIT_ROW_ERRORS
from lstm_sentiment.runtime.explain import Method
from lstm_sentiment.runtime.formats import FORMATS, InputFormat, OutputFormat
from lstm_sentiment.runtime.jobs import Engine, JobOptions, JobSummary, default_output, is_job
from lstm_sentiment.runtime.jobs import score as score_inputs
from lstm_sentiment.runtime.providers import Provider
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions
from lstm_sentiment.runtime.signature import MODEL_HELP

app = App(
    help="Score movie reviews with the lstm-sentiment ONNX model (no TensorFlow needed).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ModelOption = Annotated[str, typer.Option("--model", "-m", help=f"The model: {MODEL_HELP}.")]
ProviderOption = Annotated[
    Provider,
    typer.Option(
        help="Execution provider: auto (CUDA when onnxruntime-gpu offers it, else CPU), cpu, "
        "cuda or tensorrt. An explicit one that is not available is an error."
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
AllowCpuNodesOption = Annotated[
    bool,
    typer.Option(
        "--allow-cpu-nodes",
        help="With --provider cuda or tensorrt, run even when onnxruntime places some nodes "
        "on the CPU (the summary names them); without it such a model is refused.",
    ),
]
ThresholdOption = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Scores at or above this get the positive label. Default: the model's own "
        "(0.5 for the shipped models).",
        show_default=False,
    ),
]
TextColumnOption = Annotated[
    str | None,
    typer.Option(
        help="Column (or JSON field) with the review text. Default: the one column with a "
        "usual name (review, text, review text, body, comment, content, ...), or the only "
        "column."
    ),
]
FormatOption = Annotated[
    InputFormat | None,
    typer.Option(
        "--format",
        help="Input format (text: one review a line, no header). Default: by extension "
        "(stdin: csv).",
    ),
]
DelimiterOption = Annotated[
    str | None, typer.Option(help="CSV field delimiter (default ',', a tab for TSV).")
]
EncodingOption = Annotated[
    str, typer.Option(help="Text encoding of the input, e.g. utf-8 (default) or cp1252.")
]


def _load(
    model: str, provider: str, threads: int | None = None, allow_cpu_nodes: bool = False
) -> Any:
    from lstm_sentiment.runtime.model import SentimentModel

    return SentimentModel.load(model, provider, threads, allow_cpu_nodes)


def _default_output(input_path: str, fmt: str | None) -> str:
    if input_path == "-":
        return "-"
    return f"{Path(input_path).stem}.scores{FORMATS[fmt or 'csv'].suffix}"


InputsArgument = Annotated[
    list[str],
    typer.Argument(
        help="CSV, TSV, JSON Lines or Parquet files (- is stdin), folders, glob patterns, "
        "or s3://, gs://, file:// URIs of any of them.",
        show_default=False,
    ),
]
OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        help="Output file (.csv, .tsv, .jsonl, .parquet) or - for stdout; with several "
        "inputs, a folder or a pattern, an output folder (local or URI) that gets one "
        "file per input and _manifest.json. Default: INPUT-NAME.scores.csv here.",
    ),
]
OutputFormatOption = Annotated[
    OutputFormat | None, typer.Option(help="Output format. Default: by extension.")
]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        help="Column passed through as 'id'. Default: a column called 'id' (any case), "
        "else the 1-based record number."
    ),
]
MaxErrorsOption = Annotated[
    int | None,
    typer.Option(
        min=0,
        help="Stop with exit code 4, writing nothing, once more records than "
        "this cannot be scored.",
    ),
]
BatchSizeOption = Annotated[int, typer.Option(min=1, help="Reviews per model call.")]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Model calls run at once. Default: one per core (at most 4) on the CPU, 1 on a GPU.",
    ),
]
WindowOption = Annotated[int, typer.Option(min=1, help="Records read and length-sorted together.")]
ThreadsOption = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="onnxruntime intra-op threads per model call. Default: 1 on "
        "the CPU, onnxruntime's choice on a GPU.",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, no summary.")]
KeepColumnsOption = Annotated[
    str | None,
    typer.Option(
        help="Input columns to carry into every output record after id, score, label and "
        "error: 'all' or NAME,NAME (a clash becomes input_NAME).",
    ),
]
EngineOption = Annotated[
    Engine,
    typer.Option(help="local: this process; ray: spread the files over a Ray cluster."),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        help="Ray cluster to join: auto, or ray://HOST:PORT. Default: a local Ray "
        "instance on this machine."
    ),
]
RangeOption = Annotated[
    float,
    typer.Option(
        "--range-mb",
        min=0.001,
        help="--engine ray: split a file larger than this many MB into ranges of about "
        "this size, as many as a multiple of the workers, that the workers score at once "
        "(plain CSV, TSV, JSON Lines, text and Parquet); the output is the same bytes as "
        "one worker's.",
    ),
]
ExplainMethodOption = Annotated[
    Method,
    typer.Option(
        help="How word effects are found: pass (the model's own scoring pass gives the "
        "logit after every word; as cheap as scoring, needs a file exported with it) or "
        "occlusion (each word removed in turn and the review scored again: exact, n + 1 "
        "scorings for n words).",
    ),
]
ResumeOption = Annotated[
    bool,
    typer.Option(
        help="Many files: skip inputs that _manifest.json says are done with this model "
        "and unchanged (--no-resume scores everything again)."
    ),
]


@app.command()
def batch(
    inputs: InputsArgument,
    output: OutputOption = None,
    output_format: OutputFormatOption = None,
    model: ModelOption = "fp32",
    provider: ProviderOption = Provider.AUTO,
    threshold: ThresholdOption = None,
    text_column: TextColumnOption = None,
    id_column: IdColumnOption = None,
    input_format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = "utf-8",
    max_errors: MaxErrorsOption = None,
    batch_size: BatchSizeOption = 64,
    workers: WorkersOption = None,
    window: WindowOption = 8192,
    threads: ThreadsOption = None,
    quiet: QuietOption = False,
    keep_columns: KeepColumnsOption = None,
    engine: EngineOption = Engine.LOCAL,
    address: AddressOption = None,
    range_mb: RangeOption = 32.0,
    resume: ResumeOption = True,
    explain: Annotated[
        int | None,
        typer.Option(
            help="Give every scored record an 'explanation': the K words that moved its score "
            "most, each with word, start, end (character offsets) and effect (on the "
            "logit; above 0 toward the positive label).",
            metavar="K",
            show_default=False,
        ),
    ] = None,
    explain_method: ExplainMethodOption = Method.PASS,
    allow_cpu_nodes: AllowCpuNodesOption = False,
) -> None:
    """Score every record of INPUTS: one output record per input record, in input order, with
    id, score (probability of positive), label and error. Several inputs go into an output
    folder, one file each, on this machine or a Ray cluster (--engine ray)."""
    out_format = choice_value(output_format)
    keep = None if keep_columns is None else _keep(keep_columns)
    if explain is not None and explain < 1:
        raise fail(f"--explain takes how many words to give each record (1 or more), not {explain}")
    batch = BatchOptions(
        model, choice_value(provider), batch_size, window, threads, max_errors, out_format,
        workers, threshold, explain, choice_value(explain_method), allow_cpu_nodes,
    )  # fmt: skip
    read = ReadOptions(choice_value(input_format), delimiter, encoding, text_column, id_column,
                       None, keep)  # fmt: skip
    options = JobOptions(
        batch, read, out_format or "csv", resume, choice_value(engine), address, range_mb
    )
    if is_job(inputs, output, options.engine):
        kept = f"finished files are kept in {output}" + (
            "; the same command resumes the job" if resume else ""
        )
        with interrupt_leaves(kept):
            summary = score_inputs(inputs, output, options, _file_done(quiet))
        assert isinstance(summary, JobSummary)
        _print_job_summary(summary, quiet)
        return
    with Progress("scoring", enabled=not quiet) as progress:
        single = score_inputs(inputs, output, options, progress=progress.update)
    assert isinstance(single, Summary)
    if not quiet:
        _print_summary(single, output or default_output(inputs[0], out_format))
    if single.errors:
        raise typer.Exit(EXIT_ROW_ERRORS)


@app.command()
def score(
    texts: Annotated[
        list[str],
        typer.Argument(
            help="Reviews to score, each one argument (quote it); - reads one review a line "
            "from stdin.",
            show_default=False,
        ),
    ],
    model: ModelOption = "fp32",
    provider: ProviderOption = Provider.AUTO,
    threshold: ThresholdOption = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="One JSON object a review: text, score, label and error (score and label "
            "are null, with the reason in error, for a review with no word the model reads).",
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Show why: the review with each word coloured by its effect (green toward "
            "positive, red toward negative), then the strongest words; with --json an "
            "'explanation' list (word, start, end, effect).",
        ),
    ] = False,
    explain_method: ExplainMethodOption = Method.OCCLUSION,
    top: Annotated[
        int, typer.Option(min=1, help="With --explain: how many of the strongest words to list.")
    ] = 5,
    allow_cpu_nodes: AllowCpuNodesOption = False,
) -> None:
    """Score reviews typed on the command line: each one's score (probability of positive)
    and label, a line each. Exit code 3 when some review has no word the model reads."""
    given = _expand_stdin(texts, _stdin_reviews()) if "-" in texts else texts
    loaded = _load(model, choice_value(provider), None, allow_cpu_nodes)
    if loaded.placement_note:
        typer.echo(f"note: {loaded.placement_note}", err=True)
    if explain:
        _require_effects(loaded, choice_value(explain_method))
        scored = loaded.explain(given, None, choice_value(explain_method), threshold)
    else:
        scored = loaded.predict(given, threshold)
    if as_json:
        for item in scored:
            if explain and item["explanation"] is not None:
                item["explanation"] = item["explanation"][:top]
            typer.echo(json.dumps(item, ensure_ascii=False))
    elif explain:
        from lstm_sentiment.runtime.show import show_explained

        show_explained(scored, loaded.labels, top)
    else:
        width = max(len(name) for name in loaded.labels)
        for item in scored:
            text = " ".join(item["text"].split())
            if item["error"]:
                typer.echo(f"{'-':>6}  {'-':<{width}}  {text}  [no score: {item['error']}]")
            else:
                typer.echo(f"{item['score']:6.4f}  {item['label']:<{width}}  {text}")
    if any(item["error"] for item in scored):
        raise typer.Exit(EXIT_ROW_ERRORS)


def _require_effects(model: Any, method: str) -> None:
    from lstm_sentiment.runtime.errors import ModelError

    if method == "pass":
        try:
            model.require_effects()
        except ModelError as error:
            raise fail(str(error)) from None


def _stdin_reviews() -> list[str]:
    """The reviews on stdin, one a line (blank lines in the middle are kept: they get an
    error as in --format text)."""
    from lstm_sentiment.runtime.readers import InputSpec, open_input

    with open_input(InputSpec("-", ReadOptions(format="text"))) as source:
        reviews = [record.text or "" for record in source]
    if not reviews:
        raise fail("stdin held no review (scorer score - reads one review a line)")
    return reviews


def _expand_stdin(texts: list[str], reviews: list[str]) -> list[str]:
    """``texts`` with each ``-`` replaced by stdin's reviews (stdin can be read once)."""
    if texts.count("-") > 1:
        raise fail("- (stdin) can be given once")
    at = texts.index("-")
    return [*texts[:at], *reviews, *texts[at + 1 :]]


def _keep(value: str) -> str | tuple[str, ...]:
    if value.strip().lower() == "all":
        return "all"
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise fail("--keep-columns takes 'all' or a comma-separated list of column names")
    return names


def _file_done(quiet: bool) -> Callable[[dict[str, Any]], None]:
    def done(entry: dict[str, Any]) -> None:
        if not quiet:
            state = "done before" if entry.get("resumed") else entry["status"]
            typer.echo(f"{state}: {entry['input']} -> {entry['output']}", err=True)

    return done


def _print_job_summary(summary: JobSummary, quiet: bool) -> None:
    failed = [e for e in summary.entries if e["status"] == "failed"]
    if not quiet:
        typer.echo(
            f"{len(summary.entries):,} files: {summary.count('done'):,} done, "
            f"{len(failed):,} failed; {summary.records:,} records, {summary.errors:,} error "
            f"records; {summary.seconds:.1f} s; manifest {summary.manifest}",
            err=True,
        )
        for entry in failed:
            typer.echo(f"  failed: {entry['input']}: {entry['error']}", err=True)
    if failed:
        raise typer.Exit(EXIT_FAILED_INPUTS)
    if summary.errors:
        raise typer.Exit(EXIT_ROW_ERRORS)


def _print_summary(summary: Summary, target: str) -> None:
    where = "stdout" if target == "-" else target
    for note in summary.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(
        f"{summary.rows:,} read, {summary.scored:,} scored, {summary.errors:,} "
        f"error{'' if summary.errors == 1 else 's'}; "
        f"{summary.share_positive:.1%} {summary.positive_label}; {summary.seconds:.2f} s, "
        f"{summary.per_second:,.0f} reviews/s on {summary.provider}; wrote {where}",
        err=True,
    )
    for line in summary.first_errors:
        typer.echo(f"  error at {line}", err=True)


@app.command()
def info(
    model: Annotated[str, typer.Argument(help=f"The model: {MODEL_HELP}.")] = "fp32",
    as_json: JsonOption = False,
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
        "opset": _opset(loaded.path) or (meta.get("exporter") or {}).get("opset"),
        "quantization": meta.get("quantization"),
        "evaluation": (meta.get("evaluation") or {}).get("this_model"),
        "inputs": [_io(i) for i in session.get_inputs()],
        "outputs": [_io(o) for o in session.get_outputs()],
        "file_bytes": loaded.path.stat().st_size,
    }
    if as_json:
        # Everything the file says about itself, the whole contract (vocabulary) included.
        described = {k: v for k, v in meta.items() if k != "contract"}
        described["contract"] = loaded.contract.to_dict()
        typer.echo(json.dumps({**details, "metadata": described}, indent=2))
        return
    evaluation = details.pop("evaluation") or {}
    for key, value in details.items():
        typer.echo(f"{key:17} {value}")
    if evaluation:
        figures = ", ".join(
            f"{k} {evaluation[k]:.4f}" for k in ("accuracy", "precision", "recall", "f1", "roc_auc")
        )
        typer.echo(f"{'evaluation':17} test split (n={evaluation['n']:,}): {figures}")


def _opset(path: Path) -> int | None:
    """The standard-domain opset the file imports (None for ORT-format files)."""
    from lstm_sentiment.runtime.model_check import ModelCheckError, summarize

    try:
        opsets = summarize(path.read_bytes()).opsets
    except (OSError, ModelCheckError):
        return None
    return opsets.get("", opsets.get("ai.onnx"))


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
        str,
        typer.Option(
            help="Column with the true label: the models' own label names (as 'scorer info' "
            "lists them), or 1/0, true/false, pos/neg, positive/negative."
        ),
    ] = "label",
    positive: Annotated[
        str | None,
        typer.Option(
            help="The label column's value that means positive, when its values are not the "
            "models' label names or an obvious spelling (such as good/bad)."
        ),
    ] = None,
    threshold: ThresholdOption = None,
    text_column: TextColumnOption = None,
    input_format: FormatOption = None,
    delimiter: DelimiterOption = None,
    encoding: EncodingOption = "utf-8",
    provider: ProviderOption = Provider.AUTO,
    as_json: JsonOption = False,
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
    from lstm_sentiment.runtime.compare import compare_models, plot_comparison, render_table

    if plot is not None:
        from lstm_sentiment.runtime.compare import require_matplotlib

        require_matplotlib()  # before any scoring, not after it
    read = ReadOptions(choice_value(input_format), delimiter, encoding, text_column)
    spec = InputSpec(labelled, read)
    loaded = [_load(m, choice_value(provider)) for m in (models or ["fp32", "int8"])]
    names = models or ["fp32", "int8"]
    comparison = compare_models(spec, label_column, loaded, names, positive, threshold)
    if plot is not None:
        plot_comparison(comparison, plot)
    report = comparison.report
    typer.echo(json.dumps(report, indent=2) if as_json else render_table(report))


add_version_option(app)


def main() -> None:
    """Console entry point (``scorer``); see ``console.run``."""
    run(app, after_failure="nothing was written")
