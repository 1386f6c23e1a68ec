"""The n-gram teacher of the release recipe: 1-3-gram logistic regressions.

A training aid, never shipped. It reads text through the model's own tokenizer (the text
contract), so teacher and student see the same words. ``nblr``: binary 1-3-gram indicators
scaled by the naive-Bayes log-count ratio (after Wang & Manning, 2012, "NBSVM") and a
logistic regression on them. ``nblr+tfidf`` averages its probability with that of a second
regression on sublinear TF-IDF 1-3-grams (``tfidf`` alone): the two err on different
reviews. ``python -m benchmarks.teachers`` compares them on the release
recipe's held-out training reviews; the chosen one's test figures come from
``python -m benchmarks.recipes``.

    from lstm_sentiment.train.teacher import Teacher, cross_fit
    teacher = Teacher.fit(texts, labels)
    p = teacher.predict(other_texts)                  # P(positive), float32
    fitted = cross_fit(texts, labels, folds=5, final=[unlabelled])
    fitted.scores    # every labelled review scored by a teacher that never saw it
    fitted.final[0]  # the unlabelled reviews, scored by a teacher fitted on all labelled ones
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import tokenize
from lstm_sentiment.runtime.errors import LstmSentimentError


class TeacherError(LstmSentimentError):
    """The teacher cannot be trained on the data given."""


# What each teacher is, as the card says it; the keys are TrainConfig.teacher's values.
TEACHERS = {
    "nblr": "NB-weighted binary 1-3-gram logistic regression (C=0.4)",
    "tfidf": "sublinear TF-IDF 1-3-gram logistic regression (C=16)",
    "nblr+tfidf": "mean of an NB-weighted binary 1-3-gram logistic regression (C=0.4) and a "
    "sublinear TF-IDF 1-3-gram logistic regression (C=16)",
}


@dataclass
class _Member:
    vectorizer: Any
    scale: Any  # sparse diagonal applied to the features (NB ratios), or None
    classifier: Any

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        x = self.vectorizer.transform(texts)
        if self.scale is not None:
            x = x @ self.scale
        return self.classifier.predict_proba(x)[:, 1]


@dataclass
class Teacher:
    members: list[_Member]

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: np.ndarray,
        *,
        contract_version: int = 2,
        kind: str = "nblr",
        min_df: int = 2,
    ) -> Teacher:
        """Train on labelled ``texts`` (labels 0/1); both labels must be present."""
        from scipy import sparse
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        if kind not in TEACHERS:
            raise TeacherError(f"unknown teacher {kind!r}; choose one of {', '.join(TEACHERS)}")
        y = np.asarray(labels).astype(int)
        if len(texts) != len(y):
            raise TeacherError("texts and labels differ in length")
        if len(set(y.tolist())) != 2:
            raise TeacherError("the teacher needs reviews of both labels")
        grams = {
            "analyzer": _analyzer(contract_version),
            "min_df": min(min_df, max(1, len(texts) // 4)),
            "max_df": 0.9,
            "dtype": np.float32,
        }
        members = []
        if "nblr" in kind.split("+"):
            counts = CountVectorizer(binary=True, **grams)
            x = _features(counts, texts)
            ratio = sparse.diags(_nb_ratio(x, y).astype(np.float32))
            members.append(_Member(counts, ratio, _regression(x @ ratio, y, c=0.4)))
        if "tfidf" in kind.split("+"):
            tfidf = TfidfVectorizer(sublinear_tf=True, **grams)
            x = _features(tfidf, texts)
            members.append(_Member(tfidf, None, _regression(x, y, c=16.0)))
        return cls(members)

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """P(positive) for each text, float32."""
        if not len(texts):
            return np.zeros(0, dtype=np.float32)
        return np.mean([m.predict(texts) for m in self.members], axis=0).astype(np.float32)


def _features(vectorizer: Any, texts: Sequence[str]) -> Any:
    try:
        return vectorizer.fit_transform(texts)
    except ValueError as error:  # sklearn: "empty vocabulary", "max_df < min_df"...
        raise TeacherError(f"the teacher found no usable n-grams: {error}") from None


def _regression(x: Any, y: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    # liblinear shuffles in its dual solver: seeded, so a teacher is reproducible.
    model = LogisticRegression(C=c, dual=True, solver="liblinear", max_iter=1000, random_state=0)
    return model.fit(x, y)


@dataclass
class CrossFit:
    """What ``cross_fit`` scored: each text by a teacher that never saw it (or its parent)."""

    scores: np.ndarray  # the labelled texts, out of fold
    also: list[np.ndarray]  # each ``also`` entry, by the teacher of its parent's fold
    final: list[np.ndarray]  # each ``final`` entry, by a teacher fitted on every labelled text


def cross_fit(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    contract_version: int = 2,
    kind: str = "nblr",
    also: Sequence[tuple[Sequence[str], np.ndarray]] = (),
    final: Sequence[Sequence[str]] = (),
    workers: int | None = 1,
    progress: Callable[[str], None] = lambda message: None,
) -> CrossFit:
    """Out-of-fold teacher scores: each review is scored by a teacher trained without it.

    ``also`` holds extra texts tied to the labelled reviews (such as crops), each with the
    index of the review it came from; they are scored by the same out-of-fold teacher, so
    no text is ever scored by a teacher that saw the review it was cut from. ``final`` holds
    texts tied to no labelled review (unlabelled reviews, held-out ones): a teacher fitted on
    every labelled review scores them. The fits run in ``workers`` processes (None: one per
    usable CPU); every fit is seeded, so the scores do not depend on how many.
    """
    y = np.asarray(labels).astype(int)
    if folds < 2:
        raise TeacherError("cross-fitting needs at least 2 folds")
    if min(np.bincount(y, minlength=2)) < folds:
        raise TeacherError(f"cross-fitting {folds} folds needs at least {folds} reviews a label")
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    for label in (0, 1):  # stratified: each fold gets its share of each label
        members = rng.permutation(np.flatnonzero(y == label))
        fold_of[members] = np.arange(len(members)) % folds
    settings = {"contract_version": contract_version, "kind": kind}
    # What a fold's teacher scores: its held-out reviews, then the ``also`` texts cut from them.
    sources = [texts, *(extra_texts for extra_texts, _ in also)]
    rows_of = [
        [np.flatnonzero(fold_of == fold)]
        + [np.flatnonzero(fold_of[parents] == fold) for _, parents in also]
        for fold in range(folds)
    ]
    jobs = [  # (texts to fit on, their labels, lists of texts to score)
        (
            [t for t, f in zip(texts, fold_of, strict=True) if f != fold],
            y[fold_of != fold],
            [[src[i] for i in rows] for src, rows in zip(sources, rows_of[fold], strict=True)],
        )
        for fold in range(folds)
    ]
    if final:
        jobs.append((list(texts), y, [list(part) for part in final]))
    outs = [np.zeros(len(source), dtype=np.float32) for source in sources]
    finals: list[np.ndarray] = []
    for number, scored in enumerate(_run(jobs, settings, workers), start=1):
        progress(f"teacher fit {number}/{len(jobs)} done")
        if number > folds:
            finals = scored
            continue
        for out, rows, part in zip(outs, rows_of[number - 1], scored, strict=True):
            out[rows] = part
    return CrossFit(outs[0], outs[1:], finals)


def _fit_and_score(
    texts: list[str], labels: np.ndarray, parts: list[list[str]], settings: dict[str, Any]
) -> list[np.ndarray]:
    teacher = Teacher.fit(texts, labels, **settings)
    return [teacher.predict(part) for part in parts]


def _run(jobs: list[Any], settings: dict[str, Any], workers: int | None) -> Iterator[Any]:
    """Each job's scores, in job order; in worker processes when more than one is usable."""
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    workers = max(1, min(workers, len(jobs)))
    if workers == 1:
        return (_fit_and_score(*job, settings) for job in jobs)
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, return_as="generator")
    return parallel(delayed(_fit_and_score)(*job, settings) for job in jobs)


def _analyzer(contract_version: int) -> Callable[[str], list[str]]:
    def ngrams(text: str) -> list[str]:
        words = tokenize(text, contract_version)
        grams = list(words)
        for n in (2, 3):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams

    return ngrams


def _nb_ratio(x: Any, y: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """log((p / |p|_1) / (q / |q|_1)) with p, q the smoothed feature sums of each label."""
    p = np.asarray(x[y == 1].sum(axis=0)).ravel() + alpha
    q = np.asarray(x[y == 0].sum(axis=0)).ravel() + alpha
    return np.log((p / p.sum()) / (q / q.sum()))
