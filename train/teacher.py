"""The n-gram teacher of the release recipe: 1-3-gram logistic regressions.

A training aid, never shipped. It reads text through the model's own tokenizer (the text
contract), so teacher and student see the same words. ``nblr``: binary 1-3-gram indicators
scaled by the naive-Bayes log-count ratio (after Wang & Manning, 2012, "NBSVM") and a
logistic regression on them. ``nblr+tfidf`` averages its probability with that of a second
regression on sublinear TF-IDF 1-3-grams (``tfidf`` alone): the two err on different
reviews. ``python -m lstm_sentiment.train.teacher_sweep`` compares them on the release
recipe's held-out training reviews; the chosen one's test figures come from
``python -m lstm_sentiment.export.recipes``.

    from lstm_sentiment.train.teacher import Teacher, cross_fit
    teacher = Teacher.fit(texts, labels)
    p = teacher.predict(other_texts)                  # P(positive), float32
    oof, fold_of = cross_fit(texts, labels, folds=5)  # every labelled review scored by a
                                                      # teacher that never saw it
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


def cross_fit(
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    contract_version: int = 2,
    kind: str = "nblr",
    also: Sequence[tuple[Sequence[str], np.ndarray]] = (),
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Out-of-fold teacher scores: each review is scored by a teacher trained without it.

    ``also`` holds extra texts tied to the labelled reviews (such as crops), each with the
    index of the review it came from; they are scored by the same out-of-fold teacher, so
    no text is ever scored by a teacher that saw the review it was cut from. Returns the
    scores of ``texts`` and one array of scores per entry of ``also``.
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
    scores = np.zeros(len(y), dtype=np.float32)
    extra = [np.zeros(len(parents), dtype=np.float32) for _, parents in also]
    for fold in range(folds):
        progress(f"teacher fold {fold + 1}/{folds}")
        held = fold_of == fold
        teacher = Teacher.fit(
            [t for t, h in zip(texts, held, strict=True) if not h],
            y[~held],
            contract_version=contract_version,
            kind=kind,
        )
        scores[held] = teacher.predict([t for t, h in zip(texts, held, strict=True) if h])
        for (extra_texts, parents), out in zip(also, extra, strict=True):
            chosen = np.flatnonzero(fold_of[parents] == fold)
            out[chosen] = teacher.predict([extra_texts[i] for i in chosen])
    return scores, extra


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
