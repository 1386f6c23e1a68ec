"""Binary metrics against hand counts and a brute-force ROC-AUC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_sentiment.runtime.metrics import binary_metrics, roc_auc, roc_curve


def brute_force_auc(labels, scores):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def test_counts_precision_recall_f1_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    scores = np.array([0.9, 0.6, 0.4, 0.2, 0.7, 0.1, 0.5, 0.8])
    m = binary_metrics(labels, scores)
    assert m["confusion"] == {"tp": 3, "fn": 1, "fp": 2, "tn": 2}
    assert m["accuracy"] == pytest.approx(5 / 8)
    assert m["precision"] == pytest.approx(3 / 5)
    assert m["recall"] == pytest.approx(3 / 4)
    assert m["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)


def test_the_threshold_itself_counts_as_positive():
    m = binary_metrics(np.array([1, 0]), np.array([0.5, 0.49]))
    assert m["confusion"] == {"tp": 1, "fn": 0, "fp": 0, "tn": 1}


def test_auc_counts_ties_as_half():
    assert roc_auc(np.array([1, 0]), np.array([0.3, 0.3])) == 0.5
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.9, 0.8, 0.1, 0.2])) == 1.0
    assert roc_auc(np.array([1, 1, 0, 0]), np.array([0.1, 0.2, 0.9, 0.8])) == 0.0


def test_auc_of_one_class_is_nan_not_an_error():
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.2, 0.4])))


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError):
        binary_metrics(np.array([1, 0]), np.array([0.5]))


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.booleans(), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])),
        min_size=2,
        max_size=40,
    )
)
def test_auc_equals_the_pairwise_definition_and_the_curve_area(pairs):
    labels = np.array([p[0] for p in pairs])
    scores = np.array([p[1] for p in pairs])
    if labels.all() or not labels.any():
        return
    expected = brute_force_auc(labels, scores)
    assert roc_auc(labels, scores) == pytest.approx(expected)
    fpr, tpr = roc_curve(labels, scores)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(expected)


def test_calibration_figures_by_hand():
    from lstm_sentiment.runtime.metrics import brier_score, expected_calibration_error

    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.1, 0.2, 0.6])  # confidences 0.9, 0.9, 0.8, 0.6
    assert brier_score(labels, scores) == pytest.approx((0.01 + 0.01 + 0.64 + 0.36) / 4)
    # bins of width 1/30: {0.9, 0.9} both right, {0.8} wrong, {0.6} wrong
    expected = (2 * abs(0.9 - 1) + abs(0.8 - 0) + abs(0.6 - 0)) / 4
    assert expected_calibration_error(labels, scores) == pytest.approx(expected)


def test_a_calibrated_model_has_a_small_error_and_an_overconfident_one_a_large():
    from lstm_sentiment.runtime.metrics import expected_calibration_error

    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 200_000)
    labels = rng.uniform(0, 1, p.shape) < p  # labels drawn with the stated probability
    assert expected_calibration_error(labels, p) < 0.005
    sharp = 1 / (1 + np.exp(-3 * np.log(p / (1 - p))))  # the same ranks, overconfident
    assert expected_calibration_error(labels, sharp) > 0.08
    assert math.isnan(expected_calibration_error(np.array([]), np.array([])))
