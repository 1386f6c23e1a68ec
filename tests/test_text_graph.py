"""The in-graph text contract: the same ids as the Python contract, for any text."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_sentiment.export.text_graph import raw_text_model, text_only_model
from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import VARIANTS

SHIPPED = SentimentModel.load("fp32", "cpu").contract
SMALL = TextContract(("the", "film", "don't", "great", "br", "k", "i"), max_length=6)
SMALL_FIRST = TextContract(SMALL.vocabulary, max_length=6, keep="first")
# Version 2 reads typographic apostrophes as "'": words with one and with two of them.
SMALL_V2 = TextContract(SMALL.vocabulary + ("rock'n'roll", "it's"), max_length=6, version=2)
# Version 3 reads HTML references: words that hold them, and "amp", "lt", "x27" in the
# vocabulary so that a reference wrongly read as letters shows as a known word.
SMALL_V3 = TextContract(
    SMALL_V2.vocabulary + ("amp", "lt", "gt", "x27", "39", "quot", "a"), max_length=6, version=3
)
CONTRACTS = [SHIPPED, SMALL, SMALL_FIRST, SMALL_V2, SMALL_V3]
CONTRACT_IDS = ["shipped", "small", "first", "v2", "v3"]


def session(model: onnx.ModelProto) -> ort.InferenceSession:
    onnx.checker.check_model(model, full_check=True)
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


GRAPHS = {id(c): session(text_only_model(c)) for c in CONTRACTS}


def graph_ids(contract: TextContract, texts: list[str]) -> np.ndarray:
    return GRAPHS[id(contract)].run(None, {"review": np.array(texts, dtype=object)})[0]


def assert_same_ids(contract: TextContract, texts: list[str]) -> None:
    got = graph_ids(contract, texts)
    expected, _ = contract.encode_batch(texts)
    assert got.dtype == np.int32
    if not texts:
        assert got.shape[0] == 0
        return
    np.testing.assert_array_equal(got, expected)


EDGE_CASES = [
    "A GREAT film<br />The END<BR/>x<Br >y<br    />z<br",
    "Café, naïve ÉTÉ — 映画 😀 \u212a \u0130 ǅ ß",
    "don't 'quoted' rock'n'roll a''b students' '",
    "Don\u2019t, DIDN\u2018T rock\u2019n\u02bcroll it\u2019s \u2019quoted\u2019",
    "a\u2019\u2019b x\u2019 \u2019\u2019 it\u02bc\u02bcs",
    "tab\tnew\nline\r\nnul\x00end\x1b[0m",
    "I don&#39;t &AMP; DON&#X27;T rock&rsquo;n&#x2BC;roll &#039;it&apos;s&#8216;",
    "a&lt;br /&gt;b&LT;BR&gt;c<br &gt;d&lt;br>e &amp;lt; &amp;#39; &#65;&#x41;&fjlig;",
    "it&#39;&#39;s x&#39; &#39 &; &#; &#x; &1a; &a1; don&#0039;t&quot;the&quot;",
    "",
    "   ",
    "!!!",
    "great " * 1000 + "the end",
]


@pytest.mark.parametrize("contract", CONTRACTS, ids=CONTRACT_IDS)
def test_edge_cases_give_the_python_ids(contract):
    assert_same_ids(contract, EDGE_CASES)
    for text in EDGE_CASES:
        assert_same_ids(contract, [text])


def test_an_empty_batch_gives_an_empty_result():
    assert_same_ids(SHIPPED, [])


PIECE = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.text(st.sampled_from(list("abcXYZ019' <>/brBR\n\t")), max_size=8),
    st.sampled_from(["<br />", "<BR/>", "<br>", "<bR  />", "don't", "''", "\u212a", "\u0130"]),
    st.text(st.sampled_from(list("dontirs'\u2019\u2018\u02bc\u201d ")), max_size=8),
    st.sampled_from(["&#39;", "&#X27;", "&amp;", "&LT;", "&gt;", "&rsquo;", "&#8217;", "&#x2bc;"]),
    st.text(st.sampled_from(list("&#;xX0123789aAmpltgbrs'< />")), max_size=10),
)
TEXT = st.lists(PIECE, max_size=25).map("".join)


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=6))
def test_any_unicode_batch_gives_the_python_ids(texts):
    assert_same_ids(SMALL, texts)
    assert_same_ids(SMALL_FIRST, texts)
    assert_same_ids(SMALL_V2, texts)
    assert_same_ids(SMALL_V3, texts)


@pytest.mark.parametrize("variant", ["fp32", "int8"])
def test_the_raw_text_model_scores_exactly_like_the_token_model(variant):
    token = SentimentModel.load(variant, "cpu")
    raw = session(raw_text_model(onnx.load(MODELS_DIR / VARIANTS[variant].file), token.contract))
    batches = [EDGE_CASES, EDGE_CASES[:1], ["a fine film", "a dull film"] * 5]
    for texts in batches:
        got = raw.run(None, {"review": np.array(texts, dtype=object)})[0]
        ids, _ = token.contract.encode_batch(texts)
        np.testing.assert_allclose(got, token.score_ids(ids), atol=1e-6)
    assert raw.run(None, {"review": np.array([], dtype=object)})[0].shape == (0,)


def test_the_raw_text_model_reports_each_reviews_length():
    raw = session(raw_text_model(onnx.load(MODELS_DIR / VARIANTS["fp32"].file), SHIPPED))
    counts = raw.run(["token_count"], {"review": np.array(EDGE_CASES, dtype=object)})[0]
    _, lengths = SHIPPED.encode_batch(EDGE_CASES)
    np.testing.assert_array_equal(counts, lengths)


RAW_FP32 = session(raw_text_model(onnx.load(MODELS_DIR / VARIANTS["fp32"].file), SHIPPED))
TOKEN_FP32 = SentimentModel.load("fp32", "cpu")


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=4))
def test_any_unicode_batch_gets_the_token_models_scores(texts):
    got, counts = RAW_FP32.run(
        ["positive_probability", "token_count"], {"review": np.array(texts, dtype=object)}
    )
    ids, lengths = SHIPPED.encode_batch(texts)
    np.testing.assert_allclose(got, TOKEN_FP32.score_ids(ids), atol=1e-6)
    np.testing.assert_array_equal(counts, lengths)


@pytest.mark.imdb
def test_real_test_reviews_give_the_python_ids(imdb_archive):
    from lstm_sentiment.train import imdb
    from lstm_sentiment.train.samplers import subset

    texts = [r.text for r in subset(imdb.load_split(imdb_archive, "test"), 1000, 3)]
    for start in range(0, len(texts), 250):
        assert_same_ids(SHIPPED, texts[start : start + 250])
