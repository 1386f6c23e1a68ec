"""The training half of the toolchain's command line: data, train, evaluate.

    lstm-sentiment data csv test -o imdb-test.csv
    lstm-sentiment train --out runs/textbook
    lstm-sentiment evaluate runs/textbook
    python -m lstm_sentiment.train --help       # these commands only

``lstm-sentiment`` itself is ``export/cli.py``, which mounts this app beside ``export`` and
``card``. Each command is a thin layer over a library function (``imdb``, ``fit.train``,
``evaluate.evaluate``). Expected failures (missing or corrupt data, bad options) print one
clear line on stderr and exit with 2; they never end in a traceback.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Annotated, Any, get_type_hints

import typer

from lstm_sentiment.runtime.cli import DelimiterOption, EncodingOption, FormatOption
from lstm_sentiment.runtime.console import (
    App,
    add_version_option,
    choice_value,
    fail,
    interrupt_leaves,
    run,
)
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.datasets import (
    FileData,
    for_run,
    is_table_file,
    missing_run_file,
)
from lstm_sentiment.train.quiet import import_quietly, set_verbose

app = App(
    help="Train and evaluate the lstm-sentiment model on the IMDb reviews.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = App(help="Get, check and convert the IMDb dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="The IMDb archive (aclImdb_v1.tar.gz) or an extracted aclImdb folder. Default: "
        f"${imdb.SOURCE_ENV}, else the copy in the cache folder, downloaded if missing.",
        show_default=False,
    ),
]
TrainDataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="The IMDb archive or aclImdb folder (default: as for 'data check'), or your own "
        "labelled CSV/TSV/JSON Lines/Parquet file (see --label-column).",
        show_default=False,
    ),
]
_OWN = "Own data: "


def _source(data: Path | None, download: bool = True) -> Path:
    return imdb.resolve_source(data, download=download)


@data_app.command("download")
def data_download() -> None:
    """Download the official archive into the cache folder (verified by MD5), if not there."""
    path = _source(None)
    typer.echo(path)


@data_app.command("check")
def data_check(data: DataOption = None) -> None:
    """Check a local copy by layout: every split complete, labels and ratings consistent."""
    source = _source(data)
    for split in imdb.SPLITS:
        reviews = imdb.load_split(source, split)
        typer.echo(f"{split}: {len(reviews):,} reviews")
    typer.echo(f"ok: {source} has the official layout")


@data_app.command("csv")
def data_csv(
    split: Annotated[str, typer.Argument(help="train, test or unsup.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.")],
    data: DataOption = None,
    limit_per_label: Annotated[
        int | None,
        typer.Option(min=1, help="Write a seeded random sample of this many reviews per label."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for --limit-per-label.")] = 0,
) -> None:
    """Write a split as CSV with the columns id,rating,label,review (label positive/negative,
    empty for unsup), ready for scoring or comparing models."""
    source = _source(data)
    try:
        reviews = imdb.load_split(source, split, check_counts=limit_per_label is None)
        if limit_per_label is not None:
            from lstm_sentiment.train.samplers import subset

            reviews = subset(reviews, limit_per_label, seed)
        rows = imdb.write_csv(reviews, out)
    except OSError as error:
        raise fail(f"cannot write {out}: {error.strerror or error}") from None
    typer.echo(f"wrote {rows:,} reviews to {out}")


OutOption = Annotated[Path, typer.Option("--out", "-o", help="Folder to write the model into.")]
ConfigOption = Annotated[
    Path | None, typer.Option(help="A config.json to start from (options given here override it).")
]
TextColumnOption = Annotated[
    str | None,
    typer.Option(
        help=_OWN + "the column of texts (default: the one with a usual name such as review, "
        "text or body, any case)."
    ),
]
LabelColumnOption = Annotated[
    str | None,
    typer.Option(
        help=_OWN + "the column of labels: exactly two values, e.g. pos/neg, 1/0, good/bad "
        "(default: label, labels or sentiment, any case)."
    ),
]
PositiveOption = Annotated[
    str | None,
    typer.Option(
        help=_OWN + "the label value that is positive, when the values do not say (positive, "
        "pos, 1 and true do)."
    ),
]
UnlabelledOption = Annotated[
    Path | None,
    typer.Option("--unlabelled", help=_OWN + "a file of unlabelled texts for the release recipe."),
]
ValidationOption = Annotated[
    Path | None,
    typer.Option(help=_OWN + "a labelled validation file (default: held out of --data)."),
]
TestOption = Annotated[
    Path | None,
    typer.Option(help=_OWN + "a labelled test file (default: 20% of --data, held out)."),
]


def _config_parameters() -> list[inspect.Parameter]:
    """One option per TrainConfig field that says how it is offered (``config.option``): its
    help and textbook value come from the field, so they are written once."""
    hints = get_type_hints(TrainConfig)
    parameters = []
    for field in dataclasses.fields(TrainConfig):
        if "help" not in field.metadata:
            continue  # set through --config FILE
        shown = field.metadata["shown"]
        shown = str(field.default) if shown is None else shown
        suffix = f" (textbook: {shown})." if shown else "."
        declared = [field.metadata["flag"]] if field.metadata["flag"] else []
        kind = hints[field.name]
        option = typer.Option(*declared, help=field.metadata["help"] + suffix, show_default=False)
        parameters.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind | None, option],  # type: ignore[valid-type]
            )
        )
    return parameters


def _keyword(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=annotation)  # fmt: skip


def train(**given: Any) -> None:
    """Train the stacked-LSTM model (best epoch by validation loss) and write its folder.

    Options not given take the recipe's values (train/config.py). The release recipe resumes
    an interrupted run when started again with the same options. With --data FILE it trains
    on your labelled file instead of IMDb; the model then carries your label names."""
    out, data = given["out"], given["data"]
    overrides = {k: v for k, v in given.items() if k in _field_names() and v is not None}
    from_file = _from_file(data, given)
    resolved = _resolved_config(given["config"], overrides, from_file, given)
    dataset = _own_data(data, given, resolved) if from_file else _source(data)
    # Imported before anything is written: without the 'train' extra the entry point names
    # the install command (console.run) and leaves no half-made run folder behind.
    for module in _training_modules(resolved):
        import_quietly(module)
    typer.echo(f"training on {data or dataset} with {json.dumps(resolved.to_dict())}", err=True)
    from lstm_sentiment.train.fit import train as run_training

    # Every recipe checkpoints every epoch (train/distill.py).
    with interrupt_leaves(f"the same command resumes {out} after its last finished epoch"):
        result = run_training(resolved, dataset, out)
    typer.echo(
        f"kept epoch {result.best_epoch}, the lowest validation loss "
        f"({result.history['val_loss'][result.best_epoch - 1]:.4f}; accuracy "
        f"{result.history['val_accuracy'][result.best_epoch - 1]:.4f}); "
        f"{result.seconds:.0f} s; wrote {result.out_dir}"
    )


train.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        _keyword("out", OutOption, inspect.Parameter.empty),
        _keyword("data", TrainDataOption),
        _keyword("config", ConfigOption),
        *_config_parameters(),
        _keyword("text_column", TextColumnOption),
        _keyword("label_column", LabelColumnOption),
        _keyword("positive", PositiveOption),
        _keyword("unlabelled_file", UnlabelledOption),
        _keyword("validation", ValidationOption),
        _keyword("test", TestOption),
        _keyword("input_format", FormatOption),
        _keyword("delimiter", DelimiterOption),
        _keyword("encoding", EncodingOption, "utf-8"),
    ]
)
app.command()(train)

# Options that describe the user's own labelled file, by their flags.
_OWN_DATA = {"--text-column": "text_column", "--label-column": "label_column",
             "--positive": "positive", "--unlabelled": "unlabelled_file",
             "--validation": "validation", "--test": "test", "--format": "input_format",
             "--delimiter": "delimiter", "--encoding": "encoding"}  # fmt: skip


def _from_file(data: Path | None, given: dict[str, Any]) -> bool:
    from_file = data is not None and (given["input_format"] is not None or is_table_file(data))
    named = [flag for flag, key in _OWN_DATA.items() if _is_given(key, given[key])]
    if not from_file and named:
        raise fail(f"{', '.join(named)} describe your own labelled file: pass it with --data FILE")
    return from_file


def _is_given(key: str, value: Any) -> bool:
    return value is not None and not (key == "encoding" and value == "utf-8")


def _resolved_config(
    config: Path | None, overrides: dict[str, Any], from_file: bool, given: dict[str, Any]
) -> TrainConfig:
    unlabelled_file = given["unlabelled_file"]
    try:
        # A config file may hold a whole saved config or only some settings: it is checked
        # once merged with its recipe, so that {"recipe": "release", "epochs": 2} works.
        base = TrainConfig.read_settings(config) if config else {}
        name = overrides.get("recipe") or base.get("recipe") or "textbook"
        if from_file and "unlabelled" not in overrides:
            overrides["unlabelled"] = unlabelled_file is not None and name == "release"
        resolved = TrainConfig.for_recipe(name, **{**base, **overrides})
    except (OSError, ValueError, TypeError) as error:
        raise fail(f"bad training config: {error}") from None
    if unlabelled_file is not None and not resolved.unlabelled:
        raise fail(f"--unlabelled feeds the release recipe; the {name} recipe reads none")
    return resolved


def _own_data(data: Path, given: dict[str, Any], resolved: TrainConfig) -> FileData:
    """The user's labelled file (and the optional ones), read as the scorer reads them."""
    read = ReadOptions(choice_value(given["input_format"]), given["delimiter"], given["encoding"])
    labelled = dataclasses.replace(
        read, text_column=given["text_column"], label_column=given["label_column"]
    )
    files = {
        key: None if path is None else InputSpec(str(path), labelled)
        for key, path in (("test", given["test"]), ("validation", given["validation"]))
    }
    unlabelled = None
    if given["unlabelled_file"] is not None:
        unlabelled = InputSpec(str(given["unlabelled_file"]), read)
    dataset = FileData.read(
        InputSpec(str(data), labelled),
        positive=given["positive"],
        unlabelled=unlabelled,
        seed=resolved.seed,
        say=lambda message: typer.echo(message, err=True),
        **files,
    )
    if resolved.recipe == "release" and unlabelled is None:
        typer.echo("release recipe without --unlabelled: the teacher scores the labelled "
                   "rows and their crops only", err=True)  # fmt: skip
    return dataset


def _training_modules(config: TrainConfig) -> list[str]:
    return (
        ["keras"]
        + (["sklearn"] if config.distils else [])
        + (["gensim"] if config.word_vectors else [])
        + (["vaderSentiment"] if config.lexicon_weight or config.lexicon_weight_plain else [])
    )


def _field_names() -> set[str]:
    return {f.name for f in dataclasses.fields(TrainConfig)}


@app.command()
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="A folder written by 'train'.")],
    data: DataOption = None,
    split: Annotated[
        str, typer.Option(help="Labelled split to evaluate on: test or train.")
    ] = "test",
    limit_per_label: Annotated[
        int | None, typer.Option(min=1, help="Evaluate on a random sample of this many per label.")
    ] = None,
) -> None:
    """Accuracy, precision, recall, F1, ROC-AUC and confusion matrix of a trained model;
    writes evaluation.json and evaluation.png into the model folder. A run trained on your
    own file is evaluated on the rows it held out (or on its --test file)."""
    if problem := missing_run_file(model_dir, ("model.keras", "contract.json")):
        raise fail(problem)
    dataset = for_run(model_dir, data, check_counts=limit_per_label is None)
    import_quietly("keras")
    from lstm_sentiment.train.evaluate import evaluate as run_evaluation

    try:
        metrics = run_evaluation(model_dir, dataset, split, limit_per_label)
    except LstmSentimentError:
        raise
    except ValueError as error:  # Keras refuses a damaged or unsafe model file
        raise fail(f"cannot load {model_dir / 'model.keras'}: {error}") from None
    c = metrics["confusion"]
    typer.echo(
        f"{split}: n={metrics['n']:,} accuracy={metrics['accuracy']:.4f} "
        f"precision={metrics['precision']:.4f} recall={metrics['recall']:.4f} "
        f"f1={metrics['f1']:.4f} roc_auc={metrics['roc_auc']:.4f} "
        f"tn={c['tn']} fp={c['fp']} fn={c['fn']} tp={c['tp']}"
    )


@app.command()
def behaviour(
    models: Annotated[
        list[str],
        typer.Argument(
            help="Models to score: fp32, int8, text-fp32, text-int8, an .onnx/.ort file, or a "
            "run folder written by 'train' (its Keras model).",
            show_default=False,
        ),
    ],
    part: Annotated[
        str, typer.Option(help="held_out (what is reported) or train (what choices use).")
    ] = "held_out",
    reference: Annotated[
        bool, typer.Option(help="Also score VADER and TextBlob as reference rows.")
    ] = True,
    suite: Annotated[
        Path | None,
        typer.Option(help="A suite file of the same shape. Default: train/behaviour_suite.json."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Pass rates per capability on the behavioural suite (negation, contrast, questions,
    other domains, invariance...), one column per model."""
    from lstm_sentiment.train import behaviour as suite_module

    loaded = suite_module.load_suite(suite or suite_module.SUITE_FILE)
    found = suite_module.cases(loaded, part)
    scorers = {name: suite_module.model_scorer(name) for name in models}
    if reference:
        scorers |= {
            "VADER": suite_module.vader_scorer(),
            "TextBlob": suite_module.textblob_scorer(),
        }
    rows = {name: suite_module.score_cases(found, scorer) for name, scorer in scorers.items()}
    typer.echo(json.dumps(rows, indent=2) if as_json else suite_module.render(rows))


# The modules of the 'train' extra that the commands import when they need them: a base
# install (the scorer alone) still has the toolchain's commands, so say what to install.
TRAINING_MODULES = {
    name: "train"
    for name in (
        "tensorflow",
        "keras",
        "tf2onnx",
        "onnx",
        "sklearn",
        "gensim",
        "matplotlib",
        "vaderSentiment",
    )  # fmt: skip
}


def main() -> None:
    """``python -m lstm_sentiment.train``: these commands alone, with the same --version,
    --verbose and missing-extra messages as ``lstm-sentiment``; see ``console.run``."""
    alone = App(help=app.info.help, no_args_is_help=True, pretty_exceptions_enable=False)
    alone.add_typer(app)
    add_version_option(alone, on_verbose=set_verbose)
    run(alone, extras=TRAINING_MODULES)
