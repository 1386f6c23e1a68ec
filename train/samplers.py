"""How rows are sampled and held out: the one home of every split the toolchain makes.

    from lstm_sentiment.train.samplers import hold_out, stratified_holdout, subset
    held, kept = hold_out(25_000, 0.1, seed=1337)     # validation reviews of a recipe
    keep, test = stratified_holdout(labels, 0.2, 3)    # the test rows of a user's own file
    sample = subset(reviews, per_label=500, seed=0)    # --limit-per-label

Every split is seeded, so a run, its evaluation and its export see the same rows.
"""

from __future__ import annotations

import numpy as np

from lstm_sentiment.train import imdb


def subset(reviews: list[imdb.Review], per_label: int, seed: int) -> list[imdb.Review]:
    """A seeded random sample of ``per_label`` reviews of each label."""
    rng = np.random.default_rng(seed)
    chosen: list[imdb.Review] = []
    for label in (1, 0):
        pool = [r for r in reviews if r.label == label]
        picks = rng.permutation(len(pool))[:per_label]
        chosen.extend(pool[i] for i in sorted(picks))
    return chosen


def hold_out(n: int, share: float, seed: int, minimum: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (held-out, kept) row indices, in shuffled order: ``share`` of ``n`` held out.

    Shuffled first because the labelled rows may come sorted by label (the IMDb split is):
    a tail taken as is, as Keras' validation_split takes it, would be a single class.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(minimum, int(round(n * share)))
    return order[:n_val], order[n_val:]


def stratified_holdout(labels: list[int], share: float, seed: int) -> tuple[list[int], list[int]]:
    """Row indices to keep and to hold out: ``share`` of each label, seeded, in file order."""
    rng = np.random.default_rng(seed)
    y = np.asarray(labels)
    held: list[int] = []
    for label in (0, 1):
        members = np.flatnonzero(y == label)
        n = int(round(len(members) * share))
        if len(members) >= 2:
            n = min(max(n, 1), len(members) - 1)
        held.extend(rng.permutation(members)[:n].tolist())
    held_set = set(held)
    return [i for i in range(len(y)) if i not in held_set], sorted(held)
