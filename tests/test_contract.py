"""The text contract: the rule on examples, its properties on any Unicode, its JSON form."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_sentiment.runtime import contract as tc
from lstm_sentiment.runtime.contract import ContractError, TextContract, tokenize

WORDS = ("the", "film", "was", "great", "don't", "42", "bad")


SMALL = TextContract(WORDS, max_length=6)


@pytest.fixture
def small() -> TextContract:
    return SMALL


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("A GREAT Film", ["a", "great", "film"]),
        (
            "one<br />two<br/>three<br>four<BR  />five<Br >six",
            ["one", "two", "three", "four", "five", "six"],
        ),
        (
            "I don't know, it's 'quoted' and students'",
            ["i", "don't", "know", "it's", "quoted", "and", "students"],
        ),
        ("rock'n'roll a''b", ["rock'n'roll", "a", "b"]),
        ("Café ÉTÉ naïve", ["caf", "t", "na", "ve"]),  # only ASCII letters make tokens
        ("ＧＲＥＡＴ 映画 😀 great", ["great"]),  # full-width letters are not ASCII
        ("tab\tnew\nline\r\nnul\x00end", ["tab", "new", "line", "nul", "end"]),
        ("<br", ["br"]),  # not a complete tag: its letters are a token
        ("x<b>y", ["x", "b", "y"]),  # other tags are just punctuation and letters
        ("", []),
        ("!!! ... ???", []),
        ("1990s 3.5/10", ["1990s", "3", "5", "10"]),
        ("İSTANBUL \u212a", ["stanbul"]),  # U+0130 and the Kelvin sign never lowercase
    ],
)
def test_tokenize_follows_the_documented_rule(text, tokens):
    assert tokenize(text) == tokens


def test_ascii_lower_leaves_non_ascii_untouched():
    assert tc.ascii_lower("ÀBC ÿ Σ") == "Àbc ÿ Σ"
    assert tc.ascii_lower("ABC xyz") == "abc xyz"


def test_line_break_tag_is_a_separator_like_a_space():
    assert tokenize("good<br />bad") == tokenize("good bad")


def test_encode_starts_with_start_id_and_maps_unknown_tokens_to_oov(small):
    ids = small.encode("The film was AWFUL")
    expected = [
        tc.START_ID,
        tc.FIRST_WORD_ID + 0,
        tc.FIRST_WORD_ID + 1,
        tc.FIRST_WORD_ID + 2,
        tc.OOV_ID,
    ]
    assert ids.tolist() == expected
    assert ids.dtype == np.int32


def test_empty_review_encodes_to_the_start_id_alone(small):
    assert small.encode("").tolist() == [tc.START_ID]
    assert small.encode("?!").tolist() == [tc.START_ID]


def test_keep_last_drops_the_beginning_of_long_reviews():
    contract = TextContract(("a", "b", "c", "d", "e", "f"), max_length=4, keep="last")
    assert contract.encode("a b c d e f").tolist() == [1, 6, 7, 8]


def test_keep_first_drops_the_end_of_long_reviews():
    contract = TextContract(("a", "b", "c", "d", "e", "f"), max_length=4, keep="first")
    assert contract.encode("a b c d e f").tolist() == [1, 3, 4, 5]


def test_encode_batch_post_pads_and_returns_true_lengths(small):
    ids, lengths = small.encode_batch(["the film", "", "great great great great great great"])
    assert lengths.tolist() == [3, 1, 6]
    assert ids.shape == (3, 6)
    assert ids[0].tolist() == [1, 3, 4, 0, 0, 0]
    assert ids[1].tolist() == [1, 0, 0, 0, 0, 0]


def test_encode_batch_pad_to_widens_but_never_truncates(small):
    ids, lengths = small.encode_batch(["the film"], pad_to=10)
    assert ids.shape == (1, 10) and lengths.tolist() == [3]
    with pytest.raises(ValueError, match="shorter than the longest"):
        small.encode_batch(["the film was great"], pad_to=3)


def test_empty_batch_has_shape_zero_by_zero(small):
    ids, lengths = small.encode_batch([])
    assert ids.shape == (0, 0) and lengths.shape == (0,)


def test_vocabulary_is_top_n_by_count_with_code_point_tie_break():
    counts = tc.count_tokens(["b a c", "c b", "c", "zz yy"])
    # c:3, b:2, then a, yy, zz tie at 1 and go in code-point order.
    assert tc.build_vocabulary(counts, vocab_size=3 + 4) == ("c", "b", "a", "yy")


def test_vocabulary_build_is_independent_of_text_order():
    texts = ["the good film", "a bad film", "the end", "good good bad"]
    assert TextContract.from_texts(texts, 8) == TextContract.from_texts(texts[::-1], 8)


def test_text_without_tokens_builds_no_contract():
    with pytest.raises(ContractError, match="vocabulary is empty"):
        TextContract.from_texts(["!!!", "😀"], 100)


def test_vocab_size_counts_the_special_ids(small):
    assert small.vocab_size == len(WORDS) + 3


def test_version_2_reads_typographic_apostrophes_as_apostrophes():
    text = "I didn\u2019t, DIDN\u2018T, didn\u02bct rock\u2019n'roll \u2019quoted\u2019"
    expected = ["i", "didn't", "didn't", "didn't", "rock'n'roll", "quoted"]
    assert tokenize(text, version=2) == expected
    assert tokenize(text.replace("\u2019", "'"), version=2) == expected


def test_version_1_keeps_reading_typographic_apostrophes_as_separators():
    assert tokenize("didn\u2019t", version=1) == ["didn", "t"]
    assert tokenize("didn\u2019t") == ["didn", "t"]  # the default stays version 1


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I don&#39;t like it", ["i", "don't", "like", "it"]),
        ("DON&#X27;T &APOS;quoted&apos;", ["don't", "quoted"]),
        ("it&rsquo;s rock&#8217;n&#x2019;roll", ["it's", "rock'n'roll"]),
        ("Q&amp;A&quot;s &hellip; caf&eacute;", ["q", "a", "s", "caf"]),
        ("a&lt;br /&gt;b&lt;BR&gt;c<br &gt;d", ["a", "b", "c", "d"]),
        ("&amp;#39; stays 39", ["39", "stays", "39"]),  # references are read once
        ("don&#0039;t &#65;", ["don", "t"]),  # the corners the module docstring names
        ("&#39", ["39"]),  # no semicolon: no reference
        ("dull<br />dull", ["dull", "dull"]),
    ],
)
def test_version_3_reads_html_character_references(text, tokens):
    assert tokenize(text, version=3) == tokens


def test_versions_1_and_2_read_references_as_written():
    assert tokenize("don&#39;t &amp;", version=2) == ["don", "39", "t", "amp"]
    assert tokenize("don&#39;t &amp;", version=1) == ["don", "39", "t", "amp"]


def test_a_contract_encodes_by_its_own_version():
    v1 = TextContract(("didn't", "didn", "t"), max_length=10)
    v2 = TextContract(v1.vocabulary, max_length=10, version=2)
    assert v1.encode("didn\u2019t").tolist() == [1, 4, 5]
    assert v2.encode("didn\u2019t").tolist() == [1, 3]


def test_both_versions_round_trip_through_json():
    for version in tc.VERSIONS:
        contract = TextContract(WORDS, max_length=6, version=version)
        assert TextContract.from_json(contract.to_json()) == contract
        assert json.loads(contract.to_json())["version"] == version


def test_json_is_versioned_and_deterministic(small):
    data = json.loads(small.to_json())
    assert data["format"] == tc.FORMAT and data["version"] == 1
    assert data["rule"]["token"] == tc.TOKEN_PATTERN
    assert small.to_json() == TextContract(WORDS, max_length=6).to_json()


def test_save_and_load_round_trip(tmp_path, small):
    small.save(tmp_path / "contract.json")
    assert TextContract.load(tmp_path / "contract.json") == small


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 4}, "version 4 is not supported"),
        ({"version": 3}, "rule does not match version 3"),
        ({"version": True}, "version True is not supported"),
        ({"version": 2}, "rule does not match version 2"),  # v1's rule under v2's number
        ({"format": "something-else"}, "not a text contract"),
        ({"rule": {"lowercase": "unicode"}}, "rule does not match"),
        ({"special_ids": {"pad": 0, "start": 2, "oov": 1}}, "special ids"),
        ({"vocabulary": ["the", "the"]}, "appears twice"),
        ({"vocabulary": ["The"]}, "not a token"),
        ({"vocabulary": ["two words"]}, "not a token"),
        ({"vocabulary": [7]}, "not a token"),
        ({"vocabulary": []}, "empty"),
        ({"vocabulary": "the"}, "must be a list"),
        ({"max_length": 1}, "max_length"),
        ({"max_length": "500"}, "max_length"),
        ({"max_length": True}, "max_length"),
        ({"keep": "middle"}, "keep"),
    ],
)
def test_tampered_json_is_refused_with_a_clear_reason(small, change, message):
    data = {**small.to_dict(), **change}
    with pytest.raises(ContractError, match=message):
        TextContract.from_json(json.dumps(data))


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", "null", "[" * 100_000])
def test_malformed_json_is_a_contract_error(text):
    with pytest.raises(ContractError):
        TextContract.from_json(text)


def test_unreadable_contract_file_is_a_contract_error(tmp_path):
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ContractError, match="cannot read"):
        TextContract.load(tmp_path / "bad.json")
    with pytest.raises(ContractError, match="cannot read"):
        TextContract.load(tmp_path / "missing.json")


# -- properties on any Unicode text ------------------------------------------------------

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(),  # any code point but surrogates
        st.sampled_from(list("abcXYZ019' <>/br\n\t")),  # dense in the rule's own characters
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_any_text_encodes_in_range_and_deterministically(text):
    small = SMALL
    ids = small.encode(text)
    assert 1 <= len(ids) <= small.max_length
    assert ids[0] == tc.START_ID
    assert ids.min() >= 0 and ids.max() < small.vocab_size
    assert (ids[1:] >= tc.OOV_ID).all()  # no padding or start id inside a review
    assert ids.tolist() == small.encode(text).tolist()


@settings(max_examples=300, deadline=None)
@given(text=TEXT)
def test_tokens_are_ascii_tokens_and_tokenizing_tokens_is_stable(text):
    tokens = tokenize(text)
    assert all(tc._TOKEN.fullmatch(t) for t in tokens)
    assert tokenize(" ".join(tokens)) == tokens


@settings(max_examples=200, deadline=None)
@given(text=TEXT)
def test_ascii_lowercasing_before_tokenizing_changes_nothing(text):
    assert tokenize(tc.ascii_lower(text)) == tokenize(text)
    assert tokenize(text.upper()) == tokenize(text) or not text.isascii()


@settings(max_examples=100, deadline=None)
@given(
    texts=st.lists(TEXT, max_size=8),
    size=st.integers(4, 40),
    max_length=st.integers(2, 50),
    keep=st.sampled_from(["last", "first"]),
)
def test_any_contract_round_trips_through_json(texts, size, max_length, keep):
    corpus = [*texts, "words"]  # at least one token, or there is no vocabulary to build
    built = TextContract.from_texts(corpus, size, max_length, keep)
    loaded = TextContract.from_json(built.to_json())
    assert loaded == built
    for text in texts:
        assert loaded.encode(text).tolist() == built.encode(text).tolist()


RULE_PIECES = st.one_of(
    st.characters(codec=None),  # lone surrogates too: files decoded with surrogateescape
    st.sampled_from(list("aZ9' <>/brBR&#x;lgt\u2019\u2018\u02bc")),
    st.sampled_from(["<br />", "<BR/>", "<br  >", "&#39;", "&amp;", "&lt;br /&gt;", "''"]),
)
RULE_TEXT = st.lists(RULE_PIECES, max_size=80).map("".join)


@settings(max_examples=600, deadline=None)
@given(text=RULE_TEXT, version=st.sampled_from(tc.VERSIONS))
def test_the_byte_rule_finds_the_regular_expressions_tokens(text, version):
    # tokenize() and encode() take the byte rule; _scan is the rule as regular expressions
    assert tokenize(text, version) == tc._scan(text, version)
    contract = TextContract(WORDS, max_length=10_000, version=version)
    expected = [contract._index[t] for t in tc._scan(text, version)]
    assert contract.encode(text).tolist() == [tc.START_ID, *expected]


LONG_WORDS = (
    "a", "don't", "eightchr", "ninechars", "sixteen-is-here".replace("-", ""),
    "seventeencharsxyz", "twentyfourcharacterslong", "thirtythreecharactersarewrittenhere",
)  # fmt: skip
NEAR_MISSES = (
    "eightch", "eightchrs", "ninechar", "ninecharsx", "seventeencharsxy", "don",
    "twentyfourcharacterslongx", "twentyfourcharacterslon",
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.lists(
            st.one_of(
                st.sampled_from(LONG_WORDS + NEAR_MISSES),
                st.sampled_from([" ", "  ", "'", ".", "<br />", "\u00e9", "&amp;", "&#39;"]),
                RULE_PIECES,
            ),
            max_size=40,
        ).map("".join),
        max_size=12,
    ),
    max_length=st.integers(2, 30),
    keep=st.sampled_from(["last", "first"]),
    version=st.sampled_from(tc.VERSIONS),
    words=st.integers(1, len(LONG_WORDS)),
)
def test_encode_many_equals_encoding_each_text(pieces, max_length, keep, version, words):
    # words of 1 to 35 bytes: one to five packed words, near misses one byte off
    contract = TextContract(LONG_WORDS[:words], max_length, keep, version)
    many = contract.encode_many(pieces)
    assert [ids.tolist() for ids in many] == [contract.encode(t).tolist() for t in pieces]
    assert all(ids.dtype == np.int32 for ids in many)


def test_encode_many_reads_the_shipped_vocabulary_exactly():
    from lstm_sentiment.runtime.model import SentimentModel

    contract = SentimentModel.load("int8").contract
    texts = [" ".join(contract.vocabulary[i : i + 300]) for i in range(0, 20_000, 250)]
    texts += [t.upper() + " unknownword xx'" for t in texts[:10]]
    many = contract.encode_many(texts)
    assert [ids.tolist() for ids in many] == [contract.encode(t).tolist() for t in texts]
    assert sum(int((ids[1:] != tc.OOV_ID).sum()) for ids in many[:20]) > 5_000


@pytest.mark.parametrize(
    "text",
    ["'", "''", "'a'", "a''b", "a'''b", "x' 'y", " 'don't' ", "it's'", "a'<br />'b", "a'\u00e9'b"],
)
def test_lone_apostrophes_separate_under_the_byte_rule(text):
    assert tokenize(text, 3) == tc._scan(text, 3)


SPAN_TEXTS = [
    "Don\u2019t miss it<br />REALLY, it's GREAT!",
    "caf\u00e9 \u212a\u00dfx I don&#39;t &amp; rock&rsquo;n&#x2BC;roll a&lt;br /&gt;b",
    "\U0001f600 emoji\u0130 ok\u2019",
    "",
]


@pytest.mark.parametrize("version", tc.VERSIONS)
def test_token_spans_point_at_each_token_as_written(version):
    for text in SPAN_TEXTS:
        spans = tc.token_spans(text, version)
        tokens = tokenize(text, version)
        assert len(spans) == len(tokens)
        for (start, end), token in zip(spans, tokens, strict=True):
            written = text[start:end]
            assert tokenize(written, version) == [token], (written, token)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from(list("aB1'\u2019 <br/>&#39;x;\u00e9\U0001f600")), max_size=40))
def test_token_spans_agree_with_tokenize_on_any_text(text):
    for version in tc.VERSIONS:
        spans = tc.token_spans(text, version)
        assert [tokenize(text[s:e], version) for s, e in spans] == [
            [t] for t in tokenize(text, version)
        ]
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
