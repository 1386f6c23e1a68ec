"""PNG plots of training curves and evaluation results (matplotlib, drawn off-screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: dict[str, list[float]], best_epoch: int, path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, with the kept epoch marked."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for key, style in ((metric, "-o"), (f"val_{metric}", "--o")):
            if key in history:
                epochs = np.arange(1, len(history[key]) + 1)
                ax.plot(epochs, history[key], style, label=key.replace("_", " "))
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle=":", label=f"kept epoch {best_epoch}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(metric)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_evaluation(metrics: dict[str, Any], fpr: np.ndarray, tpr: np.ndarray, path: Path) -> None:
    """The confusion matrix beside the ROC curve."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    c = metrics["confusion"]
    matrix = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    left.imshow(matrix, cmap="Blues")
    for (row, col), value in np.ndenumerate(matrix):
        colour = "white" if value > matrix.max() / 2 else "black"
        left.text(col, row, f"{value:,}", ha="center", va="center", color=colour, fontsize=14)
    left.set_xticks([0, 1], ["negative", "positive"])
    left.set_yticks([0, 1], ["negative", "positive"])
    left.set_xlabel("predicted")
    left.set_ylabel("true")
    left.set_title(f"confusion matrix (accuracy {metrics['accuracy']:.2%})")
    right.plot(fpr, tpr, label=f"ROC-AUC {metrics['roc_auc']:.4f}")
    right.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    right.set_xlabel("false positive rate")
    right.set_ylabel("true positive rate")
    right.set_title("ROC curve")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
