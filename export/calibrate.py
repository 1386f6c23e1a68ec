"""Temperature scaling: sharpen (or soften) the model's probabilities to match how often it
is right, with every label kept.

    from lstm_sentiment.export.calibrate import fit_temperature
    temperature = fit_temperature(labels, scores)   # on held-out validation reviews only

The soft targets of distillation pull a student's scores toward 0.5, so it is right more
often than its probabilities say. One number fixes most of that (Guo et al., "On Calibration
of Modern Neural Networks", ICML 2017): the logit divided by the temperature that minimises
the log loss on reviews the model never trained on, the run's own validation reviews (never
the test split, which only measures the result). The export puts it into the last layer's
weights (``train.model.scale_logits``), so every file and every consumer, raw-text and
token-id, fp32 and int8, Python, Node or the browser, gets the same calibrated probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lstm_sentiment.runtime.explain import logit as logits
from lstm_sentiment.runtime.metrics import brier_score, expected_calibration_error

# Searched on a log scale; far outside it a model is broken rather than miscalibrated.
LOWEST, HIGHEST = 0.05, 20.0


@dataclass(frozen=True)
class Calibration:
    temperature: float
    reviews: int  # the validation reviews it was fitted on
    before: dict[str, float]  # ECE, Brier and log loss on them, uncalibrated
    after: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "fitted_on": "validation reviews",
            "reviews": self.reviews,
            "before": self.before,
            "after": self.after,
        }


def rescaled(scores: np.ndarray, temperature: float) -> np.ndarray:
    """What the probabilities become with the logit divided by ``temperature``."""
    return 1 / (1 + np.exp(-logits(scores) / temperature))


def log_loss(labels: np.ndarray, scores: np.ndarray) -> float:
    z, y = logits(scores), np.asarray(labels, dtype=np.float64)
    # log(1 + e^-z) for positives, log(1 + e^z) for negatives, without overflow
    return float(np.mean(np.logaddexp(0, -z) * y + np.logaddexp(0, z) * (1 - y)))


def fit_temperature(labels: np.ndarray, scores: np.ndarray) -> float:
    """The temperature in [0.05, 20] with the least log loss of ``scores`` on ``labels``."""
    from scipy.optimize import minimize_scalar

    labels = np.asarray(labels, dtype=np.float64)
    if len(labels) < 2 or labels.min() == labels.max():
        raise ValueError("fitting a temperature needs validation reviews of both labels")
    z = logits(scores)

    def loss(log_t: float) -> float:
        scaled = z / np.exp(log_t)
        return float(
            np.mean(np.logaddexp(0, -scaled) * labels + np.logaddexp(0, scaled) * (1 - labels))
        )

    found = minimize_scalar(loss, bounds=(np.log(LOWEST), np.log(HIGHEST)), method="bounded",
                            options={"xatol": 1e-5})  # fmt: skip
    return round(float(np.exp(found.x)), 4)


def calibration(labels: np.ndarray, scores: np.ndarray) -> Calibration:
    """The fitted temperature with the validation figures before and after it."""
    temperature = fit_temperature(labels, scores)

    def figures(s: np.ndarray) -> dict[str, float]:
        return {
            "ece": expected_calibration_error(labels, s),
            "brier": brier_score(labels, s),
            "log_loss": log_loss(labels, s),
        }

    return Calibration(
        temperature, len(labels), figures(scores), figures(rescaled(scores, temperature))
    )
