"""Load an exported ONNX model with the contract it carries, and score reviews with it.

    from lstm_sentiment.runtime.model import SentimentModel
    model = SentimentModel.load("fp32")            # or "int8", or a path to an .onnx file
    model.score(["A wonderful film.", "Dull and far too long."])   # -> array of P(positive)

The exported graph honours each review's true length, so reviews are sorted by length and run
in batches padded only to their own longest review, then put back in input order. For fp32
this is exact; int8 scores move slightly with the rest of the batch (dynamic quantization
computes activation scales per call).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import onnxruntime as ort

from lstm_sentiment.runtime.contract import (
    OOV_ID,
    START_ID,
    ContractError,
    TextContract,
    pad_batch,
)
from lstm_sentiment.runtime.errors import ModelError
from lstm_sentiment.runtime.labels import LabelRule
from lstm_sentiment.runtime.model_check import (
    ModelCheckError,
    ValueInfo,
    check_model_file,
    signature_of,
)
from lstm_sentiment.runtime.providers import check_started, select_providers
from lstm_sentiment.runtime.readers import NO_WORDS, check_text, has_words
from lstm_sentiment.runtime.signature import (
    DEFAULT_LABELS,
    DEFAULT_THRESHOLD,
    EFFECTS,
    FLOAT,
    IDS,
    INT32,
    META_PREFIX,
    MODEL_HELP,
    OUTPUT,
    STRING,
    TEXT,
    TOKEN_COUNT,
    TOKENS,
    VARIANTS,
    Kind,
)

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_BATCH = 256


def resolve_model_path(model: str | Path) -> Path:
    """A shipped variant's name (``fp32``, ``int8``, ``text-fp32``, ``text-int8``) or a path
    to an ``.onnx``/``.ort`` file."""
    if isinstance(model, str) and model in VARIANTS:
        path = MODELS_DIR / VARIANTS[model].file
        if not path.is_file():
            raise ModelError(
                f"the shipped {model} model is not installed ({path} is missing); "
                "reinstall lstm-sentiment or pass --model PATH"
            )
        return path
    path = Path(model)
    if not path.is_file():
        raise ModelError(f"no model file at {path} (use {MODEL_HELP})")
    return path


@dataclass
class SentimentModel:
    path: Path
    session: ort.InferenceSession
    contract: TextContract
    metadata: dict[str, Any]

    provider: str = "cpu"
    kind: Kind = Kind.IDS  # token ids in, or review strings in (the contract in the graph)
    placement_note: str = ""  # on a GPU: which nodes onnxruntime ran on the CPU, if any

    @property
    def takes_text(self) -> bool:
        return self.kind is Kind.TEXT

    @classmethod
    def load(
        cls,
        model: str | Path = "fp32",
        provider: str = "cpu",
        threads: int | None = None,
        allow_cpu_nodes: bool = False,
    ) -> SentimentModel:
        """Check the file (it is untrusted), then open an onnxruntime session on it.

        ``provider`` is ``auto``, ``cpu``, ``cuda`` or ``tensorrt`` (see ``providers.py``);
        ``threads`` caps onnxruntime's intra-op threads (default: one per core). On a GPU
        provider, where each node runs is checked (``placement.py``): an explicit ``cuda``
        or ``tensorrt`` with nodes on the CPU is refused unless ``allow_cpu_nodes``, and
        ``placement_note`` says which ran there.
        """
        path = resolve_model_path(model)
        try:
            kind = check_model_file(path, META_PREFIX + "contract").kind
        except ModelCheckError as error:
            raise ModelError(str(error)) from None
        chosen = select_providers(provider, ort.get_available_providers())
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Every batch has its own shape (length-sorted, padded to its longest review), so
        # memory patterns are never reused; without them peak memory drops by a third.
        options.enable_mem_pattern = False
        if threads:
            options.intra_op_num_threads = threads
        try:
            session = ort.InferenceSession(str(path), options, providers=chosen)
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"onnxruntime cannot load {path}: {error}") from None
        active = check_started(provider, chosen, session.get_providers())
        if kind is None:  # ORT format: only the loaded session can tell its signature
            try:
                kind = signature_of(
                    path, _infos(session.get_inputs()), _infos(session.get_outputs())
                )
            except ModelCheckError as error:
                raise ModelError(str(error)) from None
        metadata = read_metadata(session.get_modelmeta().custom_metadata_map, path)
        note = ""
        if active != "cpu":
            note = _check_placement(path, chosen, kind, provider, allow_cpu_nodes)
        return cls(path, session, metadata["contract"], metadata, active, kind, note)

    @property
    def explains(self) -> bool:
        """Whether the file gives per-word effects in its scoring pass (``token_effects``)."""
        return EFFECTS in {o.name for o in self.session.get_outputs()}

    def require_effects(self) -> None:
        if not self.explains:
            raise ModelError(
                f"{self.path} cannot give word effects in its scoring pass (it has no "
                f"'{EFFECTS}' output: exported by an older lstm-sentiment); export it again, "
                "or explain by occlusion"
            )

    @property
    def threshold(self) -> float:
        return float(self.metadata.get("threshold", DEFAULT_THRESHOLD))

    @property
    def labels(self) -> tuple[str, str]:
        negative, positive = self.metadata.get("labels", DEFAULT_LABELS)
        return negative, positive

    def label_rule(self, threshold: float | None = None) -> LabelRule:
        """How this model names a score: its labels, at ``threshold`` (default: its own)."""
        chosen = self.threshold if threshold is None else float(threshold)
        if not 0 <= chosen <= 1:
            raise ModelError(f"the threshold {chosen} is not in [0, 1]")
        return LabelRule(self.labels, chosen)

    @overload
    def label(self, texts: str, threshold: float | None = None) -> str | None: ...

    @overload
    def label(self, texts: Sequence[str], threshold: float | None = None) -> list[str | None]: ...

    def label(
        self, texts: str | Sequence[str], threshold: float | None = None
    ) -> str | None | list[str | None]:
        """The label name of each review (the model's names, by its threshold unless one is
        given); None for a review with no word the model reads, as ``score`` gives NaN."""
        rule = self.label_rule(threshold)
        if isinstance(texts, str):
            return rule(self.score(texts))
        return [rule(float(s)) for s in self.score(texts)]

    def score_ids(self, ids: np.ndarray) -> np.ndarray:
        """P(positive) for a post-padded int32 ``[batch, time]`` id matrix."""
        if len(ids) == 0:
            return np.zeros(0, dtype=np.float32)
        return self.session.run([OUTPUT], {IDS: np.ascontiguousarray(ids, np.int32)})[0]

    def score_encoded(
        self, encoded: Sequence[np.ndarray], batch_size: int = DEFAULT_BATCH, workers: int = 1
    ) -> np.ndarray:
        """Score encoded reviews in length-sorted batches; results in input order.

        ``workers`` > 1 runs that many batches at once (onnxruntime sessions are thread-safe);
        with one intra-op thread per run this uses small CPUs better than splitting each
        small LSTM step across threads.
        """
        scores = np.empty(len(encoded), dtype=np.float32)

        def run(rows: np.ndarray) -> None:
            batch, _ = pad_batch([encoded[i] for i in rows])
            scores[rows] = self.score_ids(batch)

        _in_sorted_batches([len(ids) for ids in encoded], batch_size, workers, run)
        return scores

    def effects_encoded(
        self, encoded: Sequence[np.ndarray], batch_size: int = DEFAULT_BATCH, workers: int = 1
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """``score_encoded``'s scores, and each review's ``token_effects`` (one per id)."""
        self.require_effects()
        scores = np.empty(len(encoded), dtype=np.float32)
        effects: list[np.ndarray] = [np.zeros(0, np.float32)] * len(encoded)

        def run(rows: np.ndarray) -> None:
            batch, lengths = pad_batch([encoded[i] for i in rows])
            scores[rows], found = self.session.run([OUTPUT, EFFECTS], {IDS: batch})
            for row, length, values in zip(rows, lengths, found, strict=True):
                effects[row] = values[:length]

        _in_sorted_batches([len(ids) for ids in encoded], batch_size, workers, run)
        return scores, effects

    def effects_texts(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH, workers: int = 1
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """``score_texts``' scores and id counts, and each review's effects one per id (the
        start id's 0 first), as ``effects_encoded`` gives them."""
        self.require_effects()
        scores = np.empty(len(texts), dtype=np.float32)
        counts = np.empty(len(texts), dtype=np.int32)
        effects: list[np.ndarray] = [np.zeros(0, np.float32)] * len(texts)
        last = self.contract.keep == "last"

        def run(rows: np.ndarray) -> None:
            batch = np.array([texts[i] for i in rows], dtype=object)
            fetched = self.session.run([OUTPUT, TOKEN_COUNT, EFFECTS, TOKENS], {TEXT: batch})
            scores[rows], counts[rows] = fetched[0], fetched[1]
            for row, count, values, tokens in zip(rows, *fetched[1:], strict=True):
                # The file's effects follow its scan's matches; words are those that are not
                # tags or references (which start with < or &) nor padding.
                words = values[[bool(t) and t[0] not in "<&" for t in tokens]]
                kept = words[len(words) - (count - 1) :] if last else words[: count - 1]
                effects[row] = np.concatenate([np.zeros(1, np.float32), kept])

        _in_sorted_batches([len(t) for t in texts], batch_size, workers, run)
        return scores, counts, effects

    def explain(
        self,
        texts: Sequence[str],
        top: int | None = 5,
        method: str = "pass",
        threshold: float | None = None,
    ) -> list[dict[str, Any]]:
        """``predict``'s records, each with an ``explanation``: the ``top`` words (all with
        None) that moved its score most, as ``word``, ``start``, ``end`` and ``effect``
        (``runtime/explain.py``; ``method`` is ``pass`` or ``occlusion``). A review with no
        score has the explanation None."""
        from lstm_sentiment.runtime import explain

        chosen = explain.Method(method)
        if top is not None and top < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        texts = _checked_texts(texts)
        if chosen is explain.Method.OCCLUSION:
            records = self.predict(texts, threshold)
            for record in records:
                words = explain.by_occlusion(self, record["text"], top)
                record["explanation"] = None if record["error"] else words
            return records
        # One pass gives the scores and the effects.
        if self.takes_text:
            scores, counts, rows = self.effects_texts(texts)
        else:
            encoded = self.contract.encode_many(texts)
            scores, rows = self.effects_encoded(encoded)
            counts = np.array([len(ids) for ids in encoded], dtype=np.int32)
        readable = np.array([has_words(c) for c in counts], dtype=bool)
        scores = np.where(readable, scores, np.float32("nan"))
        records = self._records(texts, scores, threshold)
        for record, row in zip(records, rows, strict=True):
            words = explain.from_pass(record["text"], row, self.contract, top)
            record["explanation"] = None if record["error"] else words
        return records

    @overload
    def score(self, texts: str, batch_size: int = DEFAULT_BATCH) -> float: ...

    @overload
    def score(self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH) -> np.ndarray: ...

    def score(
        self, texts: str | Sequence[str], batch_size: int = DEFAULT_BATCH
    ) -> float | np.ndarray:
        """P(positive) for each review text, through the model's own text contract.

        A list (or any sequence) of strings gives a float32 array in input order; one string
        gives one float. A review with no word the model reads (empty, only punctuation, only
        non-ASCII letters) has no score: NaN, as ``scorer batch`` makes it an error record.
        A non-string item is a ``TypeError`` naming its index.
        """
        if isinstance(texts, str):
            return float(self.score([texts], batch_size)[0])
        texts = _checked_texts(texts)
        if self.takes_text:
            scores, counts = self.score_texts(texts, batch_size)
            readable = np.array([has_words(c) for c in counts], dtype=bool)
        else:
            encoded = self.contract.encode_many(texts)
            readable = np.array([has_words(len(ids)) for ids in encoded], dtype=bool)
            scores = self.score_encoded(encoded, batch_size)
        return np.where(readable, scores, np.float32("nan")).astype(np.float32)

    def predict(self, texts: Sequence[str], threshold: float | None = None) -> list[dict[str, Any]]:
        """Each review's ``text``, ``score`` (rounded to 6 places, as ``scorer batch`` writes
        it), ``label`` and ``error``; score and label are None, with the reason in error,
        for a review with no word the model reads. ``scorer score`` prints these."""
        texts = list(texts)
        scores = self.score(texts) if texts else np.zeros(0, dtype=np.float32)
        return self._records(texts, scores, threshold)

    def _records(
        self, texts: list[str], scores: np.ndarray, threshold: float | None
    ) -> list[dict[str, Any]]:
        rule = self.label_rule(threshold)
        results = []
        for text, value in zip(texts, scores, strict=True):
            score = None if np.isnan(value) else round(float(value), 6)
            error = "" if score is not None else (check_text(text) or NO_WORDS)
            results.append({"text": text, "score": score, "label": rule(score), "error": error})
        return results

    def score_texts(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH, workers: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """A raw-text model's P(positive) and ids per review, in input order.

        Reviews are batched by character length, a cheap stand-in for token length.
        """
        scores = np.empty(len(texts), dtype=np.float32)
        counts = np.empty(len(texts), dtype=np.int32)

        def run(rows: np.ndarray) -> None:
            batch = np.array([texts[i] for i in rows], dtype=object)
            scores[rows], counts[rows] = self.session.run([OUTPUT, TOKEN_COUNT], {TEXT: batch})

        _in_sorted_batches([len(t) for t in texts], batch_size, workers, run)
        return scores, counts


def _checked_texts(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list; a non-string item is a ``TypeError`` naming its index."""
    texts = list(texts)
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"review {index} is {type(text).__name__}, not str")
    return texts


def _check_placement(
    path: Path, chosen: list[str], kind: Kind, requested: str, allow_cpu_nodes: bool
) -> str:
    """Run a one-review batch in a profiled session and check where every node ran."""
    from lstm_sentiment.runtime import placement

    if kind is Kind.TEXT:
        feed: dict[str, Any] = {TEXT: np.array(["a fine film"], dtype=object)}
    else:
        feed = {IDS: np.array([[START_ID, OOV_ID, OOV_ID]], dtype=np.int32)}
    try:
        nodes = placement.placement(path, chosen, feed)
    except Exception as error:  # onnxruntime raises its own exception types
        message = f"onnxruntime cannot profile {path} to check node placement: {error}"
        raise ModelError(message) from None
    return placement.check(requested, nodes, allow_cpu_nodes)


def _in_sorted_batches(
    lengths: Sequence[int], batch_size: int, workers: int, run: Callable[[np.ndarray], None]
) -> None:
    """Call ``run`` on row indices grouped by length, ``workers`` batches at a time."""
    order = np.argsort(lengths, kind="stable")
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    # The longest batches first: the workers then end on short ones and wait little for
    # each other at the end of a window (the same batches, so the same scores).
    chunks.reverse()
    if workers > 1 and len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, chunks))
    else:
        for rows in chunks:
            run(rows)


def _infos(args: Sequence[Any]) -> list[ValueInfo]:
    types = {"tensor(int32)": INT32, "tensor(float)": FLOAT, "tensor(string)": STRING}
    return [ValueInfo(a.name, types.get(a.type), len(a.shape)) for a in args]


def read_metadata(raw: dict[str, str], path: Path) -> dict[str, Any]:
    """Parse our ``lstm_sentiment.*`` metadata keys; the contract is required."""
    if META_PREFIX + "contract" not in raw:
        raise ModelError(
            f"{path} carries no lstm-sentiment text contract in its metadata; "
            "only models exported by lstm-sentiment can be used"
        )
    metadata: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(META_PREFIX):
            name = key[len(META_PREFIX) :]
            try:
                metadata[name] = json.loads(value)
            except json.JSONDecodeError:
                metadata[name] = value
    try:
        metadata["contract"] = TextContract.from_dict(metadata["contract"])
    except ContractError as error:
        raise ModelError(f"{path}: {error}") from None
    labels = metadata.get("labels", DEFAULT_LABELS)
    if not (
        isinstance(labels, list | tuple)
        and len(labels) == 2
        and all(isinstance(name, str) and name.strip() for name in labels)
        and labels[0] != labels[1]
    ):
        raise ModelError(f"{path}: its 'labels' metadata is not two different label names")
    threshold = metadata.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ModelError(f"{path}: its 'threshold' metadata is not a number")
    if not 0 <= threshold <= 1:
        raise ModelError(f"{path}: its 'threshold' metadata {threshold} is not in [0, 1]")
    return metadata
