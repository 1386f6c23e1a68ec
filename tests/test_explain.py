"""Word-level explanations: the graph's token effects, exact spans, both methods, every
variant, and the scorer's --explain."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from lstm_sentiment.runtime.cli import app
from lstm_sentiment.runtime.explain import RECENCY_WORDS, from_pass, kept_spans, logit
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.signature import EFFECTS, TOKENS, VARIANTS

VARIANT_NAMES = list(VARIANTS)
TEXTS = [
    "A fine film, not bad at all.",
    "Dull<br />dull &amp; DULL. I don&#39;t like it\u2019s ending.",
    "great " * 40 + "but the ending was awful",  # longer than max_length 24: truncated
    "x",
]
runner = CliRunner()


def load(models, variant: str) -> SentimentModel:
    return SentimentModel.load(models / VARIANTS[variant].file, "cpu")


def test_effects_are_the_changes_of_the_logit_of_every_prefix(tiny_models):
    model = load(tiny_models, "fp32")
    for text in TEXTS:
        ids = model.contract.encode(text)
        _, (row,) = model.effects_encoded([ids])
        # The model scoring each prefix of the ids as a review of its own.
        prefixes = logit(
            np.array([model.score_ids(ids[None, : t + 1])[0] for t in range(len(ids))])
        )
        np.testing.assert_allclose(row[1:], np.diff(prefixes), atol=2e-4)
        assert row[0] == 0
        np.testing.assert_allclose(row.sum(), prefixes[-1] - prefixes[0], atol=2e-4)


@pytest.mark.parametrize("variant", ["fp32", "text-fp32"])
def test_a_words_effect_is_its_change_discounted_by_its_distance_from_the_end(tiny_models, variant):
    model = load(tiny_models, variant)
    ids_model = load(tiny_models, "fp32")
    text = TEXTS[1]
    ids = ids_model.contract.encode(text)
    _, (row,) = ids_model.effects_encoded([ids])
    (record,) = model.explain([text], top=None)
    by_start = sorted(record["explanation"], key=lambda w: w["start"])
    n = len(row) - 1
    want = row[1:] * np.exp(-np.arange(n - 1, -1, -1) / RECENCY_WORDS)
    assert len(by_start) == n
    np.testing.assert_allclose([w["effect"] for w in by_start], want, atol=2e-4)
    # the last word keeps its whole change, the first loses exp(-(n - 1) / 200) of it
    assert by_start[-1]["effect"] == pytest.approx(row[-1], abs=1e-4)
    # a row of equal changes, large enough for the discount to show in 4 decimals
    text = " ".join(f"w{i}" for i in range(300))
    words = from_pass(text, np.array([0.0] + [1.0] * 300), model.contract, None)
    effects = [w["effect"] for w in sorted(words, key=lambda w: w["start"])]
    assert effects[-1] == 1.0 and effects[0] == pytest.approx(np.exp(-299 / 200), abs=1e-4)
    assert effects == sorted(effects)


def test_padding_gets_no_effect_and_batching_changes_none(tiny_models):
    model = load(tiny_models, "fp32")
    encoded = [model.contract.encode(t) for t in TEXTS]
    _, together = model.effects_encoded(encoded, batch_size=4)
    for ids, row in zip(encoded, together, strict=True):
        _, (alone,) = model.effects_encoded([ids])
        assert len(row) == len(ids)
        np.testing.assert_allclose(row, alone, atol=1e-5)
    from lstm_sentiment.runtime.contract import pad_batch

    batch, lengths = pad_batch(encoded)
    _, effects = model.session.run(None, {"token_ids": batch})
    for row, length in zip(effects, lengths, strict=True):
        assert not row[length:].any()


def find_matches(text: str, tokens) -> list[tuple[int, int]]:
    """What an app does with a raw-text file's ``tokens``: each match found by searching
    forward from the end of the one before (docs/embedding.md)."""
    spans, cursor = [], 0
    for token in tokens:
        if not token:
            break
        start = text.index(token, cursor)
        spans.append((start, start + len(token)))
        cursor = start + len(token)
    return spans


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_raw_text_files_give_the_token_files_effects_and_each_token_as_written(
    tiny_models, precision
):
    token, raw = load(tiny_models, precision), load(tiny_models, f"text-{precision}")
    assert token.explains and raw.explains
    _, expected = token.effects_encoded([token.contract.encode(t) for t in TEXTS], batch_size=64)
    _, _, got = raw.effects_texts(TEXTS, batch_size=64)
    # int8 activations are quantized with scales over the whole batch: close, not equal
    tolerance = 1e-5 if precision == "fp32" else 2e-4
    for want, row in zip(expected, got, strict=True):
        np.testing.assert_allclose(row, want, atol=tolerance)
    effects, tokens = raw.session.run([EFFECTS, TOKENS], {"review": np.array(TEXTS, dtype=object)})
    for text, row_effects, row_tokens in zip(TEXTS, effects, tokens, strict=True):
        spans = find_matches(text, row_tokens)
        words = [(s, e) for s, e in spans if text[s] not in "<&"]
        assert words == kept_spans(text, raw.contract, 10**6)  # every word, in place
        for (s, _), value in zip(spans, row_effects, strict=False):
            if text[s] in "<&":
                assert value == 0  # a line-break tag or a reference is no word


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(
    ["br", "<br />", "a", "&amp;", "amp", "don&#39;t", " ", "x\u2019s", "&lt;br&gt;", "\u00e9"]
), max_size=30).map("".join), min_size=1, max_size=3))  # fmt: skip
def test_searching_forward_finds_every_match_in_place(tiny_models, texts):
    raw = load(tiny_models, "text-fp32")
    (tokens,) = raw.session.run([TOKENS], {"review": np.array(texts, dtype=object)})
    for text, row in zip(texts, tokens, strict=True):
        words = [(s, e) for s, e in find_matches(text, row) if text[s] not in "<&"]
        assert words == kept_spans(text, raw.contract, 10**6)


@pytest.mark.parametrize("variant", VARIANT_NAMES)
def test_every_variant_explains_with_exact_spans(tiny_models, variant):
    model = load(tiny_models, variant)
    for method in ("pass", "occlusion"):
        records = model.explain([*TEXTS, "!!!"], top=None, method=method)
        for record in records[:-1]:
            words = record["explanation"]
            assert words and record["error"] == ""
            for word in words:
                assert record["text"][word["start"] : word["end"]] == word["word"]
            kept = min(len(model.contract.encode(record["text"])) - 1, 23)
            assert len(words) == kept
            sizes = [abs(w["effect"]) for w in words]
            assert sizes == sorted(sizes, reverse=True)
        assert records[-1]["explanation"] is None and records[-1]["score"] is None


def test_a_truncated_review_is_explained_by_the_words_the_model_read(tiny_models):
    model = load(tiny_models, "fp32")
    (record,) = model.explain([TEXTS[2]], top=None)
    starts = sorted(w["start"] for w in record["explanation"])
    assert starts[0] > len("great ") * 20  # keep="last": only the end was read
    assert {w["word"] for w in record["explanation"]} >= {"awful", "ending"}


def test_occlusion_is_the_logit_drop_without_the_word(tiny_models):
    model = load(tiny_models, "fp32")
    text = TEXTS[0]
    (record,) = model.explain([text], top=None, method="occlusion")
    for word in record["explanation"]:
        without = text[: word["start"]] + " " + text[word["end"] :]
        drop = logit(model.score([text, without]))
        assert word["effect"] == pytest.approx(drop[0] - drop[1], abs=1e-3)


PIECE = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=6),
    st.sampled_from(
        [
            "don't",
            "Didn\u2019t",
            "&#39;",
            "&amp;",
            "<br />",
            "&lt;br&gt;",
            "\U0001f600",
            "Caf\u00e9",
        ]
    ),
    st.text(st.sampled_from(list("abcXYZ '&#;")), max_size=6),
)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.lists(PIECE, max_size=12).map("".join), min_size=1, max_size=4))
def test_spans_are_exact_on_any_unicode(tiny_models, texts):
    for variant in ("fp32", "text-int8"):
        for record in load(tiny_models, variant).explain(texts, top=None):
            for word in record["explanation"] or []:
                assert record["text"][word["start"] : word["end"]] == word["word"]


def test_bad_top_and_method_are_refused(tiny_models):
    model = load(tiny_models, "fp32")
    with pytest.raises(ValueError, match="top"):
        model.explain(["fine"], top=0)
    with pytest.raises(ValueError):
        model.explain(["fine"], method="guess")


def test_a_file_without_effects_says_so_and_occlusion_still_works(tmp_path, tiny_run):
    import onnx

    from lstm_sentiment.export.convert import convert
    from lstm_sentiment.export.metadata import set_metadata
    from lstm_sentiment.runtime.contract import TextContract
    from lstm_sentiment.runtime.errors import ModelError

    model = convert(tiny_run, effects=False)
    set_metadata(
        model, TextContract.load(tiny_run / "contract.json"), version="t", variant="fp32", extra={}
    )
    onnx.save(model, tmp_path / "old.onnx")
    old = SentimentModel.load(tmp_path / "old.onnx", "cpu")
    assert not old.explains
    with pytest.raises(ModelError, match="token_effects"):
        old.explain(["a fine film"])
    assert old.explain(["a fine film"], method="occlusion")[0]["explanation"]
    (tmp_path / "in.csv").write_text("review\nfine\n")
    out, old_file = str(tmp_path / "o.csv"), str(tmp_path / "old.onnx")
    args = ["batch", str(tmp_path / "in.csv"), "--explain", "2", "-m", old_file, "-o", out]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "token_effects" in result.output
    assert not (tmp_path / "o.csv").exists()


def write_input(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["id,review,explanation"] + [f'r{i},"{t}",kept{i}' for i, t in enumerate(TEXTS)]
    path.write_text("\n".join([*rows, "bad,!!!,x"]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_batch_explain_writes_k_exact_words_a_record(tiny_models, tmp_path, fmt):
    source = write_input(tmp_path)
    out = tmp_path / f"out.{fmt}"
    model = str(tiny_models / VARIANTS["text-int8"].file)
    args = ["batch", str(source), "-o", str(out), "-m", model, "--explain", "3", "-q",
            "--keep-columns", "review,explanation"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 3, result.output  # the !!! row is an error record
    if fmt == "parquet":
        import pyarrow.parquet as pq

        records = pq.read_table(out).to_pylist()
    elif fmt == "jsonl":
        records = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        import csv

        with out.open(newline="") as handle:
            records = list(csv.DictReader(handle, delimiter="\t" if fmt == "tsv" else ","))
        for r in records:
            r["explanation"] = json.loads(r["explanation"]) if r["explanation"] else None
    assert list(records[0])[:6] == ["id", "score", "label", "error", "explanation", "review"]
    assert records[0]["input_explanation"] == "kept0"  # the input's own column, renamed
    for record in records[:-1]:
        assert len(record["explanation"]) == min(3, len(record["review"].split()))
        for word in record["explanation"]:
            assert record["review"][word["start"] : word["end"]] == word["word"]
    assert records[-1]["explanation"] is None and records[-1]["error"]


@pytest.mark.parametrize("bad", ["0", "-2"])
def test_batch_refuses_a_k_below_one_before_writing(tmp_path, bad):
    source = write_input(tmp_path)
    result = runner.invoke(
        app, ["batch", str(source), "-o", str(tmp_path / "o.csv"), "--explain", bad]
    )
    assert result.exit_code == 2
    assert (
        result.output.strip().startswith("error:") and len(result.output.strip().splitlines()) == 1
    )
    assert not (tmp_path / "o.csv").exists()


def test_score_explain_shows_the_review_and_its_strongest_words(tiny_models):
    model = str(tiny_models / VARIANTS["fp32"].file)
    result = runner.invoke(app, ["score", "A fine film, not bad at all.", "--explain", "-m", model])
    assert result.exit_code == 0, result.output
    assert "A fine film, not bad at all." in result.output and "strongest:" in result.output
    result = runner.invoke(
        app, ["score", "A fine film.", "!!!", "--explain", "--json", "--top", "2", "-m", model]
    )
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert len(first["explanation"]) == 2 and second["explanation"] is None
    assert result.exit_code == 3


@pytest.mark.imdb
@pytest.mark.parametrize("variant", ["int8", "text-fp32"])
def test_real_reviews_are_explained_with_exact_spans_by_the_shipped_files(imdb_archive, variant):
    from lstm_sentiment.train import imdb
    from lstm_sentiment.train.samplers import subset

    model = SentimentModel.load(variant, "cpu")
    texts = [r.text for r in subset(imdb.load_split(imdb_archive, "test"), 150, 5)]
    for record in model.explain(texts, top=None):
        words = record["explanation"]
        assert len(words) == len(model.contract.encode(record["text"])) - 1
        assert all(record["text"][w["start"] : w["end"]] == w["word"] for w in words)
    # the top words of the strongest reviews are words that carry sentiment, not padding
    (strong,) = model.explain(["A wonderful, moving film. I loved every minute."], top=1)
    assert strong["explanation"][0]["word"].lower() in {"wonderful", "loved", "moving"}


def test_the_faithfulness_benchmark_swaps_the_discount_for_another(tiny_models):
    from benchmarks.faithfulness import rediscounted

    model = load(tiny_models, "fp32")
    ids = model.contract.encode(TEXTS[0])
    _, (row,) = model.effects_encoded([ids])
    (record,) = model.explain([TEXTS[0]], top=None)
    same = rediscounted([record["explanation"]], RECENCY_WORDS)[0]
    bare = rediscounted([record["explanation"]], 0)[0]
    by_start = sorted(record["explanation"], key=lambda w: w["start"])
    assert [w["effect"] for w in same] == pytest.approx([w["effect"] for w in by_start])
    # no discount: the graph's own changes, word by word
    assert [w["effect"] for w in bare] == pytest.approx(list(row[1:]), abs=2e-4)
    # on equal changes of 300 words, exactly: undone, then another discount put in
    text = " ".join(f"w{i}" for i in range(300))
    words = from_pass(text, np.array([0.0] + [1.0] * 300), model.contract, None)
    undone = [w["effect"] for w in rediscounted([words], 0)[0]]
    assert undone == pytest.approx([1.0] * 300, abs=1e-3)
    halved = [w["effect"] for w in rediscounted([words], 100)[0]]
    assert halved[0] == pytest.approx(np.exp(-299 / 100), abs=1e-3) and halved[-1] == 1.0
