"""Score a file of reviews: the library function behind ``scorer batch``.

    from lstm_sentiment.runtime.batch import BatchOptions, score_file
    from lstm_sentiment.runtime.readers import InputSpec
    summary = score_file(InputSpec("reviews.csv"), "scores.csv", BatchOptions(model="int8"))

Records stream through in windows: a window is read and tokenized, its reviews are sorted by
length and scored in batches padded only to their own longest review (exact: the exported
graph ignores padding), and the results are written in input order. Scoring of one window
runs in a worker thread (onnxruntime releases the GIL) while the next window is read and
tokenized, so tokenization and I/O overlap with the model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import dropwhile, islice
from typing import TYPE_CHECKING, Any

from lstm_sentiment.runtime.errors import EXIT_TOO_MANY_ERRORS, LstmSentimentError
from lstm_sentiment.runtime.labels import LabelRule
from lstm_sentiment.runtime.readers import (
    NO_WORDS,
    InputSpec,
    Record,
    RecordSource,
    has_words,
    open_input,
)
from lstm_sentiment.runtime.writers import open_output, output_format

if TYPE_CHECKING:  # numpy and onnxruntime load with the first model, not with --help
    import numpy as np

    from lstm_sentiment.runtime.model import SentimentModel


@dataclass
class BatchOptions:
    model: str = "fp32"  # fp32, int8, or a path to an .onnx/.ort file
    provider: str = "auto"
    batch_size: int = 64
    window: int = 8192  # records read, tokenized and sorted together
    threads: int | None = None  # onnxruntime intra-op threads (default: see parallelism())
    max_errors: int | None = None  # stop (exit 4, no output) when errors exceed this
    output_format: str | None = None
    workers: int | None = None  # batches run at once (default: see parallelism())
    threshold: float | None = None  # score -> label; default: the model's own
    explain: int | None = None  # give each scored record its this many strongest words
    explain_method: str = "pass"  # or "occlusion" (runtime/explain.py)
    allow_cpu_nodes: bool = False  # on cuda/tensorrt, run even with nodes on the CPU


MAX_DEFAULT_WORKERS = 4


def parallelism(provider: str, threads: int | None, workers: int | None) -> tuple[int | None, int]:
    """Default intra-op threads and concurrent batches for where the model will run.

    On the CPU, one intra-op thread per batch with one batch per core: an LSTM step on a small
    batch is too little work to split across threads. On a GPU one stream is best.
    """
    import onnxruntime as ort

    from lstm_sentiment.runtime.providers import CPU, select_providers

    on_cpu = select_providers(provider, ort.get_available_providers())[0] == CPU
    if not on_cpu:
        return threads, workers or 1
    cores = os.cpu_count() or 1
    return threads or 1, workers or max(1, min(cores, MAX_DEFAULT_WORKERS))


class TooManyErrors(LstmSentimentError):
    """More records became error records than ``max_errors`` allows."""

    exit_code = EXIT_TOO_MANY_ERRORS

    def __str__(self) -> str:
        return f"{self.args[0]}; nothing was written"


@dataclass
class Summary:
    rows: int = 0
    scored: int = 0
    errors: int = 0
    positive: int = 0
    seconds: float = 0.0
    provider: str = ""
    model: str = ""
    first_errors: list[str] = field(default_factory=list)
    positive_label: str = "positive"
    notes: list[str] = field(default_factory=list)  # the reader's remarks (not errors)

    @property
    def share_positive(self) -> float:
        return self.positive / self.scored if self.scored else 0.0

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def score_file(
    spec: InputSpec,
    output: str,
    options: BatchOptions,
    model: SentimentModel | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    first_window: int | None = None,
    header: bool = True,
) -> Summary:
    """Score every record of ``spec`` into ``output`` (``-`` for stdout); see the docstring.
    A range of a file (``spec.span``) gives ``first_window``, the size of its first window
    in the whole file's schedule, and ``header=False`` for any range but the first."""
    started = time.perf_counter()
    threads, workers = parallelism(options.provider, options.threads, options.workers)
    if model is None:
        from lstm_sentiment.runtime.model import SentimentModel

        model = SentimentModel.load(
            options.model, options.provider, threads, options.allow_cpu_nodes
        )
    if options.explain is not None and options.explain_method == "pass":
        model.require_effects()  # before anything is written
    summary = Summary(provider=model.provider, model=str(model.path))
    fmt = output_format(output, options.output_format)
    rule = model.label_rule(options.threshold)
    summary.positive_label = rule.positive
    with (
        open_input(spec) as source,
        open_output(output, fmt, options.explain is not None, header) as writer,
        ThreadPoolExecutor(max_workers=1) as pool,
    ):
        pending: tuple[list[Record], list[str], Future[Any]] | None = None
        sizes = window_sizes(options.window)
        if first_window is not None:
            sizes = dropwhile(lambda size: size != first_window, sizes)
        for window in _windows(iter(source), sizes):
            effects = options.explain is not None and options.explain_method == "pass"
            if model.takes_text:  # the contract runs in the graph, which also counts the ids
                errors = [record.error for record in window]
                texts = [r.text or "" for r, e in zip(window, errors, strict=True) if not e]
                future = pool.submit(
                    _score_texts, model, texts, options.batch_size, workers, effects
                )
            else:
                errors, encoded = _encode(window, model)
                future = pool.submit(
                    _score_ids, model, encoded, options.batch_size, workers, effects
                )
            if pending is not None:
                _write(writer, *pending, summary, rule, source, _explainer(model, options))
            pending = (window, errors, future)
            _check_errors(summary, errors, options.max_errors)
            if progress is not None:
                progress(*source.progress())
        if pending is not None:
            _write(writer, *pending, summary, rule, source, _explainer(model, options))
        _check_errors(summary, [], options.max_errors)  # errors found only while scoring
        summary.notes = source.notes + ([model.placement_note] if model.placement_note else [])
    summary.seconds = time.perf_counter() - started
    return summary


Scored = tuple["np.ndarray", "np.ndarray | None", "list[np.ndarray] | None"]


def _score_ids(
    model: SentimentModel, encoded: list[np.ndarray], batch_size: int, workers: int, effects: bool
) -> Scored:
    """A token-id model's scores (no id counts: the Python encoder already turned reviews
    without words into error records), and their token effects if asked for."""
    if effects:
        scores, rows = model.effects_encoded(encoded, batch_size, workers)
        return scores, None, rows
    return model.score_encoded(encoded, batch_size, workers), None, None


def _score_texts(
    model: SentimentModel, texts: list[str], batch_size: int, workers: int, effects: bool
) -> Scored:
    """A raw-text model's scores and id counts, and their token effects if asked for."""
    if effects:
        return model.effects_texts(texts, batch_size, workers)
    return (*model.score_texts(texts, batch_size, workers), None)


Explainer = Callable[[str, "np.ndarray | None"], "list[dict[str, Any]]"]


def _explainer(model: SentimentModel, options: BatchOptions) -> Explainer | None:
    """How a scored record gets its explanation: from its row of token effects (one pass)
    or by occlusion; None without ``--explain``."""
    if options.explain is None:
        return None
    from lstm_sentiment.runtime import explain

    top = options.explain
    if options.explain_method == explain.Method.OCCLUSION.value:
        return lambda text, _: explain.by_occlusion(model, text, top)
    return lambda text, row: explain.from_pass(text, row, model.contract, top)


def _encode(window: list[Record], model: SentimentModel) -> tuple[list[str], list[np.ndarray]]:
    """Each record's error ('' if none) and the ids of the records that can be scored."""
    errors = [record.error for record in window]
    texts = [record.text or "" for record, error in zip(window, errors, strict=True) if not error]
    kept, found = [], iter(model.contract.encode_many(texts))
    for row, error in enumerate(errors):
        if not error:
            ids = next(found)
            if has_words(len(ids)):
                kept.append(ids)
            else:
                errors[row] = NO_WORDS
    return errors, kept


FIRST_WINDOW = 512


def window_sizes(size: int) -> Iterator[int]:
    """The sizes of a file's windows, in order: they start small and double up to ``size``.

    The model cannot start before the first window is read and tokenized, so a small first
    window gets it going at once; later windows are large, so that length-sorting leaves
    little padding. Windows decide the batches, and int8 scores depend a little on their
    batch, so a range of a file (``runtime/ranges.py``) starts where a window does and goes
    on with the sizes the whole file would have.
    """
    current = min(FIRST_WINDOW, size)
    while True:
        yield current
        current = min(size, current * 2)


def _windows(records: Iterator[Record], sizes: Iterator[int]) -> Iterator[list[Record]]:
    for current in sizes:
        window = list(islice(records, current))
        if not window:
            return
        yield window


def _check_errors(summary: Summary, errors: list[str], limit: int | None) -> None:
    if limit is None:
        return
    so_far = summary.errors + sum(1 for e in errors if e)
    if so_far > limit:
        raise TooManyErrors(f"{so_far} records could not be scored, more than --max-errors {limit}")


def _write(
    writer: Any,
    window: list[Record],
    errors: list[str],
    future: Future[Any],
    summary: Summary,
    rule: LabelRule,
    source: RecordSource,
    explainer: Explainer | None,
) -> None:
    # A raw-text model also returns each review's id count; 1 means no word it reads.
    all_scores, all_counts, all_effects = future.result()
    scores = iter(all_scores)
    counts = None if all_counts is None else iter(all_counts)
    effects = None if all_effects is None else iter(all_effects)
    rows = []
    for record, error in zip(window, errors, strict=True):
        summary.rows += 1
        if not error and counts is not None and not has_words(next(counts)):
            next(scores)
            if effects is not None:
                next(effects)
            error = NO_WORDS
        if error:
            summary.errors += 1
            if len(summary.first_errors) < 5:
                summary.first_errors.append(f"{record.where} (id {record.id}): {error}")
            rows.append((record.id, None, None, error, record.kept, None))
            continue
        score = float(next(scores))
        label = rule(score)
        summary.scored += 1
        summary.positive += label == rule.positive
        row = None if effects is None else next(effects)
        words = None if explainer is None else explainer(record.text or "", row)
        rows.append((record.id, score, label, "", record.kept, words))
    writer.write(rows, source.kept_columns, source.kept_types)
