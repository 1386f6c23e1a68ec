"""``lstm-sentiment``: the whole toolchain's command line (data, train, evaluate, export, card).

    lstm-sentiment export runs/textbook --out runtime/models
    lstm-sentiment card runtime/models
    python -m lstm_sentiment.export --help

The training commands live in ``train/cli.py`` and are mounted here, so imports run one way:
export -> train -> runtime.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated

import typer

from lstm_sentiment import runtime
from lstm_sentiment.export.card import CARD_FILE, FIGURES_FILE, render_card
from lstm_sentiment.export.validate import MIN_ACCURACY
from lstm_sentiment.runtime.console import App, add_version_option, fail, run
from lstm_sentiment.train.cli import TRAINING_MODULES, DataOption
from lstm_sentiment.train.cli import app as train_app
from lstm_sentiment.train.datasets import for_run, missing_run_file
from lstm_sentiment.train.quiet import import_quietly, set_verbose

app = App(
    help="Train, evaluate and export the lstm-sentiment model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(train_app)


add_version_option(app, on_verbose=set_verbose)


@app.command("export")
def export_command(
    run_dir: Annotated[Path, typer.Argument(help="A folder written by 'train'.")],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the .onnx/.ort files and the card.")
    ],
    data: DataOption = None,
    version: Annotated[
        str | None,
        typer.Option(
            help="Model version written into the files. Default: the package version plus "
            "the run folder's name, such as 0.1.0+textbook."
        ),
    ] = None,
    allow_weak: Annotated[
        bool,
        typer.Option(
            help=f"Export even a model whose test accuracy is below {MIN_ACCURACY:.0%} "
            "(near chance), which is otherwise refused."
        ),
    ] = False,
    validation_reviews: Annotated[
        int,
        typer.Option(min=2, help="Real test reviews for the Keras and padding checks."),
    ] = 1000,
    limit_per_label: Annotated[
        int | None,
        typer.Option(
            min=1, help="Evaluate on a test subset of this many per label (not a release)."
        ),
    ] = None,
    mobile: Annotated[
        bool, typer.Option(help="Run onnxruntime's mobile checks and write .ort files.")
    ] = True,
    calibrate: Annotated[
        bool,
        typer.Option(
            help="Divide the logit by a temperature fitted on the run's validation reviews, "
            "inside every file, so that probabilities match how often the model is right."
        ),
    ] = True,
) -> None:
    """Export fp32 and int8 ONNX models with a generated model card; refuses to write
    anything unless the numeric gates pass."""
    needs = ("model.keras", "contract.json", "config.json", "training.json")
    if problem := missing_run_file(run_dir, needs):
        raise fail(problem)
    dataset = for_run(run_dir, data, check_counts=limit_per_label is None)
    import_quietly("tf2onnx")  # TensorFlow with it
    from lstm_sentiment.export.release import ExportOptions, export_release

    options = ExportOptions(
        version=version or default_version(run_dir),
        allow_weak=allow_weak,
        validation_reviews=validation_reviews,
        limit_per_label=limit_per_label,
        mobile=mobile,
        calibrate=calibrate,
    )
    figures = export_release(run_dir, out, dataset, options)
    for variant in ("fp32", "int8"):
        m = figures[variant]
        typer.echo(
            f"{variant}: accuracy={m['accuracy']:.4f} f1={m['f1']:.4f} roc_auc={m['roc_auc']:.4f} "
            f"ece={m['ece']:.4f} size={figures['sizes'][variant]:,} bytes"
        )
    typer.echo(f"wrote {out}")


@app.command("card")
def card_command(
    models_dir: Annotated[Path, typer.Argument(help="A folder written by 'export'.")],
) -> None:
    """Rewrite MODEL_CARD.md from the figures in model_card.json."""
    try:
        figures = json.loads((models_dir / FIGURES_FILE).read_text(encoding="utf-8"))
        (models_dir / CARD_FILE).write_text(render_card(figures), encoding="utf-8")
    except (OSError, ValueError, KeyError) as error:
        raise fail(f"cannot render the card from {models_dir / FIGURES_FILE}: {error}") from None
    typer.echo(f"wrote {models_dir / CARD_FILE}")


def default_version(run_dir: Path) -> str:
    """``PACKAGE_VERSION+RUN``: a version no release uses, telling where the model came from."""
    local = re.sub(r"[^A-Za-z0-9]+", ".", run_dir.resolve().name).strip(".") or "run"
    return f"{runtime.__version__}+{local}"


def main() -> None:
    """Console entry point; see ``console.run``."""
    run(app, extras=TRAINING_MODULES)
