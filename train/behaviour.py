"""The behavioural suite: does a model read text as people write it? Scored per capability.

    lstm-sentiment behaviour fp32 int8 runs/lex1       # held-out part, VADER and TextBlob too
    lstm-sentiment behaviour fp32 --part train --json

Capabilities x templates x word lists, after CheckList (Ribeiro et al., ACL 2020); the suite
is ``train/behaviour_suite.json``, or any file of that shape (``--suite``). Each capability
has a training part, which training steps may draw on, and a held-out part, which none may:
held-out templates filled with held-out words. Choices are made on the training part; the
held-out part is what is reported. A template with a ``label`` passes when the model gives
that label; an ``invariant`` one when a perturbed copy (upper or lower case, a typo, another
name) gets the label the original got. VADER (compound >= 0.05 is positive, its authors'
threshold) and TextBlob (polarity > 0) are reference rows.
"""

from __future__ import annotations

import itertools
import json
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.runtime.errors import LstmSentimentError

SUITE_FILE = Path(__file__).with_name("behaviour_suite.json")
PARTS = ("train", "held_out")
MAX_CASES_PER_TEMPLATE = 24
Scorer = Callable[[Sequence[str]], np.ndarray]  # texts -> P(positive); NaN: no score


class SuiteError(LstmSentimentError):
    """The suite file cannot be used."""


@dataclass(frozen=True)
class Case:
    capability: str
    text: str
    label: int | None  # None: an invariance case, judged against ``original``
    original: str | None = None


def load_suite(path: Path = SUITE_FILE) -> dict[str, Any]:
    """The suite, checked: every capability has both parts, every template a label or an
    invariant, every slot a word list with both parts."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SuiteError(f"cannot read the behavioural suite {path}: {error}") from None
    if not isinstance(suite, dict) or not isinstance(suite.get("capabilities"), dict):
        raise SuiteError(f"{path}: no 'capabilities' object")
    words = suite.get("words", {})
    for name, parts in suite["capabilities"].items():
        for part in PARTS:
            templates = parts.get(part) if isinstance(parts, dict) else None
            if not templates:
                raise SuiteError(f"{path}: capability {name!r} has no {part!r} templates")
            for template in templates:
                _check_template(path, name, template, words)
    return suite


def _check_template(path: Path, name: str, template: Any, words: dict[str, Any]) -> None:
    text = template.get("template") if isinstance(template, dict) else None
    if not isinstance(text, str):
        raise SuiteError(f"{path}: a template of {name!r} has no 'template' text")
    if template.get("label") not in (0, 1) and template.get("invariant") not in PERTURBATIONS:
        raise SuiteError(
            f"{path}: {text!r} needs a label (0 or 1) or an invariant ({', '.join(PERTURBATIONS)})"
        )
    for slot in _slots(text):
        entry = words.get(slot.rstrip("2"))
        if not isinstance(entry, dict) or not all(entry.get(p) for p in PARTS):
            raise SuiteError(f"{path}: {text!r} uses {{{slot}}}, which has no word lists")


def _slots(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


def cases(suite: dict[str, Any], part: str, seed: int = 0) -> list[Case]:
    """Every case of ``part`` (``train`` or ``held_out``): each template filled with that
    part's words, at most MAX_CASES_PER_TEMPLATE fillings a template (seeded)."""
    if part not in PARTS:
        raise SuiteError(f"unknown part {part!r}; choose train or held_out")
    rng = random.Random(seed)
    found = []
    for capability, parts in suite["capabilities"].items():
        for template in parts[part]:
            for text in _fillings(template["template"], suite["words"], part, rng):
                if "label" in template:
                    found.append(Case(capability, text, int(template["label"])))
                else:
                    changed = PERTURBATIONS[template["invariant"]](text, suite, part, rng)
                    found.append(Case(capability, changed, None, text))
    return found


def _fillings(template: str, words: dict[str, Any], part: str, rng: random.Random) -> list[str]:
    slots = _slots(template)
    if not slots:
        return [template]
    lists = [words[slot.rstrip("2")][part] for slot in slots]
    combos = [c for c in itertools.product(*lists) if len(set(c)) == len(c)]
    rng.shuffle(combos)
    return [
        template.format(**dict(zip(slots, c, strict=True))) for c in combos[:MAX_CASES_PER_TEMPLATE]
    ]


def _typo(text: str, suite: dict[str, Any], part: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped in one word of four letters or more."""
    words = text.split(" ")
    long = [i for i, w in enumerate(words) if len(w.strip(".,!?")) >= 4]
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(len(w.strip(".,!?")) - 1)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _name(text: str, suite: dict[str, Any], part: str, rng: random.Random) -> str:
    names = suite["words"]["name"][part]
    present = [n for n in names if n in text]
    others = [n for n in names if n not in present]
    return text.replace(present[0], rng.choice(others)) if present and others else text


PERTURBATIONS: dict[str, Callable[[str, dict[str, Any], str, random.Random], str]] = {
    "upper": lambda text, *_: text.upper(),
    "lower": lambda text, *_: text.lower(),
    "typo": _typo,
    "name": _name,
}


def score_cases(found: list[Case], scorer: Scorer, threshold: float = 0.5) -> dict[str, Any]:
    """Pass rates per capability and overall; a case without a score fails."""
    texts = [c.text for c in found]
    originals = [c.original or c.text for c in found]
    scores = np.asarray(scorer(texts + originals), dtype=np.float64)
    mine, before = scores[: len(found)], scores[len(found) :]
    per: dict[str, list[bool]] = {}
    for case, value, original in zip(found, mine, before, strict=True):
        if np.isnan(value) or (case.label is None and np.isnan(original)):
            passed = False
        elif case.label is None:
            passed = (value >= threshold) == (original >= threshold)
        else:
            passed = int(value >= threshold) == case.label
        per.setdefault(case.capability, []).append(passed)
    rates = {name: float(np.mean(results)) for name, results in per.items()}
    everything = [p for results in per.values() for p in results]
    return {"capabilities": rates, "overall": float(np.mean(everything)), "cases": len(found)}


def vader_scorer() -> Scorer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    # Compound >= 0.05 is positive (the authors' threshold); mapped so that 0.5 cuts there.
    return lambda texts: np.array(
        [0.5 + 0.5 * np.sign(analyzer.polarity_scores(t)["compound"] - 0.05 + 1e-12) for t in texts]
    )


def textblob_scorer() -> Scorer:
    from textblob import TextBlob

    return lambda texts: np.array(
        [1.0 if TextBlob(t).sentiment.polarity > 0 else 0.0 for t in texts]
    )


def model_scorer(model: str) -> Scorer:
    """A shipped variant's name or an ONNX file (the runtime), or a run folder (Keras)."""
    path = Path(model)
    if path.is_dir():
        from lstm_sentiment.train.quiet import import_quietly

        import_quietly("keras")
        from lstm_sentiment.runtime.contract import TextContract
        from lstm_sentiment.train.evaluate import predict
        from lstm_sentiment.train.model import load_model

        keras_model = load_model(path / "model.keras")
        contract = TextContract.load(path / "contract.json")
        return lambda texts: predict(keras_model, contract, list(texts))
    from lstm_sentiment.runtime.model import SentimentModel

    loaded = SentimentModel.load(model, "cpu")
    return lambda texts: loaded.score(list(texts))


def render(rows: dict[str, dict[str, Any]]) -> str:
    """A table: one row per capability, one column per model."""
    names = list(rows)
    capabilities = list(next(iter(rows.values()))["capabilities"])
    head = ["capability", *names]
    lines = [head]
    for capability in capabilities:
        lines.append([capability, *(f"{rows[n]['capabilities'][capability]:.1%}" for n in names)])
    lines.append(["overall", *(f"{rows[n]['overall']:.1%}" for n in names)])
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    cases = next(iter(rows.values()))["cases"]
    body = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    ]
    return "\n".join([*body, f"{cases:,} cases"])
