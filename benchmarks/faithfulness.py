"""How faithful are the explanations: delete the words a method names and see the score move.

    python -m benchmarks.faithfulness [--model fp32] [--reviews 500] [--data PATH] \\
        [--repeats 3] [--json faithfulness.json]

For a seeded sample of ``--reviews`` test reviews and each method (``pass``: the model's own
per-word effects in its scoring pass; ``occlusion``: each word removed in turn; ``random``:
words drawn at random, the baseline), the k = 1, 3 and 5 words with the largest effect toward
the predicted label are deleted (their spans replaced by a space) and the review scored
again. Reported per k: the mean move of the logit away from the predicted label, its ratio
to random deletion, and the share of labels that flip: ERASER's comprehensiveness (DeYoung
et al., ACL 2020). Cost: seconds per review of each method against plain scoring of the
same reviews, in this process, and ``scorer batch`` end to end on the whole test split with
and without ``--explain 3`` (fresh processes, median of ``--repeats``). And what the
``token_effects`` output costs plain scoring: the file against a copy without it (its branch
pruned), scoring the sample, interleaved, median of ``--repeats``.

The random baseline averages ``--random-draws`` draws of k words per review: one draw's mean
is dominated by the few reviews where chance deletes a word that matters. ``--recency
100,200`` adds a row per discount of the pass effects with the distance from the review's
end, exp(-distance / words) in place of the runtime's (0: none); such choices are made with
``--split train``, never on the test split.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.speed import run_scorer
from lstm_sentiment.export.machine import machine
from lstm_sentiment.runtime.explain import logit
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.train import imdb
from lstm_sentiment.train.samplers import subset

KS = (1, 3, 5)


def deleted(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by a space, from the end so offsets stay valid."""
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + " " + text[end:]
    return text


def words_of(model: SentimentModel, texts: list[str], method: str) -> tuple[list[Any], float]:
    """Every word's effect for each review by ``method``, and the seconds it took."""
    started = time.perf_counter()
    if method == "occlusion":
        records = [model.explain([t], top=None, method="occlusion")[0] for t in texts]
    else:
        records = model.explain(texts, top=None, method="pass")
    return [r["explanation"] for r in records], time.perf_counter() - started


def deletion_figures(
    model: SentimentModel,
    texts: list[str],
    explained: list[Any] | None,
    seed: int,
    draws: int = 1,
) -> dict[str, dict[str, float]]:
    """Per k: mean logit move away from the predicted label and the share flipped; with
    ``explained`` None, k random words of each review, averaged over ``draws`` draws."""
    base = logit(model.score(texts))
    sign = np.where(base >= 0, 1.0, -1.0)
    rng = np.random.default_rng(seed)
    figures = {}
    for k in KS:
        variants = []
        for _ in range(1 if explained is not None else draws):
            for i, text in enumerate(texts):
                if explained is None:  # random: any k of the words the model reads
                    spans = _spans(model, text)
                    chosen = [spans[j] for j in rng.permutation(len(spans))[:k]]
                else:
                    toward = sorted(explained[i], key=lambda w: -sign[i] * w["effect"])[:k]
                    chosen = [(w["start"], w["end"]) for w in toward]
                variants.append(deleted(text, chosen))
        after = logit(np.nan_to_num(model.score(variants), nan=0.5))
        draws_made = len(variants) // len(texts)
        before = np.tile(base, draws_made)
        move = np.tile(sign, draws_made) * (before - after)
        flipped = (after >= 0) != (before >= 0)
        figures[str(k)] = {"logit_move": float(move.mean()), "flipped": float(flipped.mean())}
    return figures


def rediscounted(explained: list[Any], words: float) -> list[Any]:
    """The pass effects with the runtime's recency discount (``explain.discounted``)
    replaced by exp(-distance / ``words``) (0: no discount); distance counts words from the
    last one the model read."""
    from lstm_sentiment.runtime.explain import discounted

    changed = []
    for found in explained:
        ordered = sorted(found, key=lambda w: w["start"])
        bare = np.array([w["effect"] for w in ordered]) / discounted(np.ones(len(ordered)))
        again = discounted(bare, words) if words else bare
        changed.append([{**w, "effect": float(e)} for w, e in zip(ordered, again, strict=True)])
    return changed


def without_effects(path: Path, folder: Path) -> Path:
    """A copy of the model file with the ``token_effects`` output and its branch removed."""
    import onnx

    from lstm_sentiment.export.lengths_pass import _drop_dead_nodes
    from lstm_sentiment.runtime.signature import EFFECTS, TOKENS

    model = onnx.load(path)
    kept = [o for o in model.graph.output if o.name not in (EFFECTS, TOKENS)]
    del model.graph.output[:]
    model.graph.output.extend(kept)
    _drop_dead_nodes(model.graph)
    target = folder / f"plain-{Path(path).name}"
    onnx.save(model, target)
    return target


def effects_overhead(model: SentimentModel, texts: list[str], repeats: int) -> dict[str, float]:
    """Seconds to score ``texts`` with the file and with its copy without effects."""
    with tempfile.TemporaryDirectory() as work:
        plain = SentimentModel.load(without_effects(model.path, Path(work)), "cpu", threads=1)
        times: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(repeats):
            for name, which in (("with", model), ("without", plain)):
                started = time.perf_counter()
                which.score(texts)
                times[name].append(time.perf_counter() - started)
    a, b = statistics.median(times["with"]), statistics.median(times["without"])
    return {"with_seconds": a, "without_seconds": b, "ratio": a / b}


def occlusion_ms(model: SentimentModel, reviews: list[imdb.Review], words: int = 230) -> float:
    """Median milliseconds to explain by occlusion one review of about ``words`` words (the
    20 test reviews closest to it), on the model's threads: a person reading one review."""
    by_size = sorted(reviews, key=lambda r: abs(len(model.contract.encode(r.text)) - 1 - words))
    times = []
    for review in by_size[:20]:
        started = time.perf_counter()
        model.explain([review.text], top=None, method="occlusion")
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def _spans(model: SentimentModel, text: str) -> list[tuple[int, int]]:
    from lstm_sentiment.runtime.explain import kept_spans

    return kept_spans(text, model.contract, model.contract.max_length - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fp32", help="a shipped variant or an .onnx file")
    parser.add_argument("--reviews", type=int, default=500, help="test reviews to explain")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--split", choices=("test", "train"), default="test")
    parser.add_argument("--random-draws", type=int, default=5)
    parser.add_argument("--recency", default="", help="comma-separated discounts to compare")
    parser.add_argument("--deletion-only", action="store_true", help="skip the costs")
    args = parser.parse_args()
    try:
        source = imdb.resolve_source(args.data)
        reviews = imdb.load_split(source, args.split)
        model = SentimentModel.load(args.model, "cpu", threads=1)
        model.require_effects()
    except Exception as error:  # a missing archive or model, or a file without effects
        sys.exit(f"error: {error}")
    sample = subset(reviews, max(1, args.reviews // 2), args.seed)
    texts = [r.text for r in sample if model.score(r.text) == model.score(r.text)]
    print(f"machine: {machine()}")
    print(f"model: {model.path}; {len(texts)} {args.split} reviews, one thread", flush=True)
    started = time.perf_counter()
    model.score(texts)
    plain = time.perf_counter() - started
    rows: dict[str, Any] = {}
    for method in ("pass", "occlusion", "random"):
        explained, seconds = (None, plain) if method == "random" else words_of(model, texts, method)
        rows[method] = {
            "deletion": deletion_figures(model, texts, explained, args.seed, args.random_draws),
            "ms_per_review": 1000 * seconds / len(texts),
            "x_plain": seconds / plain,
        }
        print(f"  measured {method}", flush=True)
        for words in [float(t) for t in args.recency.split(",") if t] if method == "pass" else []:
            again = rediscounted(explained, words)
            rows[f"pass, recency {words:g}"] = {
                **rows["pass"],
                "deletion": deletion_figures(model, texts, again, args.seed),
            }
    if args.deletion_only:
        _print(rows, None, plain, len(texts))
        return
    overhead = effects_overhead(model, texts, max(3, args.repeats))
    one_review = occlusion_ms(model, reviews)
    end_to_end = _end_to_end(reviews, args.model, args.repeats)
    _print(rows, end_to_end, plain, len(texts))
    print(
        f"plain scoring with the token_effects output in the file: {overhead['ratio']:.3f}x "
        f"the time without it ({overhead['with_seconds']:.3f} s against "
        f"{overhead['without_seconds']:.3f} s)"
    )
    print(f"occlusion of one 230-word review, one thread: {one_review:.0f} ms (median of 20)")
    if args.json:
        figures = {
            "machine": machine(),
            "reviews": len(texts),
            "methods": rows,
            "scorer_batch": end_to_end,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def _end_to_end(reviews: list[imdb.Review], model: str, repeats: int) -> dict[str, float]:
    """``scorer batch`` on the whole split, with and without ``--explain 3``, interleaved."""
    with tempfile.TemporaryDirectory() as work:
        csv_path = Path(work) / "test.csv"
        imdb.write_csv(reviews, csv_path)
        plain, explained = [], []
        for _ in range(repeats):
            plain.append(run_scorer(csv_path, model, Path(work) / "a.csv")[0])
            explained.append(
                run_scorer(csv_path, model, Path(work) / "b.csv", ["--explain", "3"])[0]
            )
    a, b = statistics.median(plain), statistics.median(explained)
    return {"reviews": len(reviews), "plain_seconds": a, "explain3_seconds": b, "ratio": b / a}


def _print(rows: dict[str, Any], end_to_end: dict[str, float] | None, plain: float, n: int) -> None:
    random = rows["random"]["deletion"]
    print()
    print("| method | " + " | ".join(f"top-{k} logit move (x random) / flipped" for k in KS)
          + " | ms a review | x plain scoring |")  # fmt: skip
    print("| --- " * (len(KS) + 3) + "|")
    for method, row in rows.items():
        cells = []
        for k in KS:
            d = row["deletion"][str(k)]
            ratio = d["logit_move"] / random[str(k)]["logit_move"] if method != "random" else 1.0
            cells.append(f"{d['logit_move']:.3f} ({ratio:.1f}x) / {d['flipped']:.1%}")
        print(f"| {method} | " + " | ".join(cells)
              + f" | {row['ms_per_review']:.2f} | {row['x_plain']:.2f} |")  # fmt: skip
    print(f"plain scoring: {1000 * plain / n:.2f} ms a review (one thread, batches of 256)")
    e = end_to_end
    if e is None:
        return
    print(
        f"scorer batch on {e['reviews']:,} test reviews: {e['plain_seconds']:.1f} s plain, "
        f"{e['explain3_seconds']:.1f} s with --explain 3 ({e['ratio']:.2f}x)"
    )


if __name__ == "__main__":
    main()
