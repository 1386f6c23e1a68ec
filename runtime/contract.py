"""The text contract: the one definition of how a review becomes token ids.

Training, export and the runtime encode text only through this module, and every model
carries the contract with it as versioned JSON (``TextContract.to_json``), so a model can
never be fed ids made by a different tokenizer than the one it was trained with.

The rule (version 1; version 2 adds one step, below). It was chosen so that an ONNX graph
can reproduce it exactly with onnxruntime's string operators (``StringNormalizer`` with
``locale="C"`` lowercases ASCII only; a regex tokenizer can find the tokens), which is why
it does not use Python's full-Unicode ``str.lower()``:

1. Lowercase ASCII: ``A``-``Z`` become ``a``-``z``; every other character stays as it is.
2. The HTML line breaks of the IMDb reviews, ``<br>``, ``<br/>``, ``<br />`` (any number of
   spaces before the slash or the ``>``), separate words and are not words themselves.
3. Tokens are the leftmost-longest matches of ``[a-z0-9]+(?:'[a-z0-9]+)*``: runs of ASCII
   letters and digits, joined by single inner apostrophes (``don't`` is one token,
   ``'quoted'`` gives ``quoted``). Anything else (punctuation, accented or non-Latin letters,
   emoji, control characters) only separates tokens.
4. Ids: 0 is padding, 1 marks the start of a review, 2 stands for any token outside the
   vocabulary, and the vocabulary's words follow from 3 in order. The vocabulary is built
   from training text only: the most frequent tokens, ties broken by code-point order.
5. A review encodes as ``[1]`` followed by the ids of its tokens; when that is longer than
   ``max_length``, the tokens at one end are dropped: ``keep="last"`` (the default, as in
   Keras' ``pad_sequences``) keeps the end of the review, where reviewers tend to give their
   verdict; ``keep="first"`` keeps the beginning. Every review has length >= 1.
6. Batches are post-padded with 0 and always travel with their true lengths, so a model
   that honours the lengths gives the same score whatever a review is padded to.

Version 2 (the release recipe's) reads the typographic apostrophes that word processors and
web pages put into contractions, U+2019 ``’``, U+2018 ``‘`` and U+02BC ``ʼ``, as ``'``
before rule 3, so ``didn’t`` is the token ``didn't`` rather than ``didn`` and ``t``. Under
version 1 they only separate tokens. A model keeps the version it was trained with.

Version 3 (new models only) also reads the HTML character references that web pages and
exports leave in reviews (``don&#39;t``, ``Q&amp;A``), by the one scan below, which the
raw-text graph runs as it is, so the two stay identical:

- a line break may be written with references, ``&lt;br /&gt;`` as much as ``<br />``;
- inside a token, the references that stand for an apostrophe join words as ``'`` does:
  ``&#39;`` ``&#039;`` ``&#x27;`` ``&apos;`` and the typographic ones (``&#8217;``
  ``&#x2019;`` ``&rsquo;`` ``&#8216;`` ``&#x2018;`` ``&lsquo;`` ``&#700;`` ``&#x2bc;``), in
  any case (rule 1 lowercases them first);
- every other reference, ``&name;``, ``&#digits;`` or ``&#xhex;``, only separates tokens,
  which is what the character it stands for does (``&amp;``, ``&quot;``, ``&hellip;``,
  ``&eacute;``: none of them is an ASCII letter or digit).

Three corners are read differently from a browser, because a graph cannot rewrite text
cheaply and exactly: numeric references to ASCII letters or digits (``&#65;``), the one
named reference that stands for letters (``&fjlig;``), and apostrophe references spelled
with more leading zeros than listed (``&#0039;``) separate tokens, and a name that HTML does
not define (``&garth;``) is read as a reference all the same. Real reviews hold almost none
of them (22 of the 100,000 IMDb reviews hold any reference at all).

Example::

    from lstm_sentiment.runtime.contract import TextContract
    contract = TextContract.load("model/contract.json")
    ids, lengths = contract.encode_batch(["A fine film.", "Dull<br />dull."])
    encoded = contract.encode_many(texts)  # a list of id arrays, the fast way for many
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lstm_sentiment.runtime.errors import LstmSentimentError

FORMAT = "lstm-sentiment.text-contract"
VERSION = 3  # the newest version; new contracts choose theirs, old ones keep theirs
VERSIONS = (1, 2, 3)

PAD_ID = 0
START_ID = 1
OOV_ID = 2
FIRST_WORD_ID = 3

LINE_BREAK_PATTERN = r"<br */?>"
TOKEN_PATTERN = r"[a-z0-9]+(?:'[a-z0-9]+)*"

# One pass finds tokens and line-break tags; a tag matches as an empty group and is dropped.
# A tag can never sit inside a token (``<`` and ``>`` are not token characters), so dropping
# tag matches is the same as replacing tags by a space before tokenizing.
_SCANNER = re.compile(f"{LINE_BREAK_PATTERN}|({TOKEN_PATTERN})")
_TOKEN = re.compile(TOKEN_PATTERN)
_LINE_BREAK = re.compile(LINE_BREAK_PATTERN)

# Version 2's typographic apostrophes (right and left single quotation marks, modifier
# letter apostrophe), all read as the ASCII apostrophe.
TYPOGRAPHIC_APOSTROPHES = "\u2019\u2018\u02bc"
_APOSTROPHES = str.maketrans(dict.fromkeys(TYPOGRAPHIC_APOSTROPHES, "'"))

# Version 3's references (lowercase: rule 1 comes first). The apostrophe spellings join
# words; any other reference, and a line break written with &lt; and &gt;, separates them.
APOSTROPHE_REFERENCES = (
    "&#39;", "&#039;", "&#x27;", "&apos;",
    "&#8217;", "&#x2019;", "&rsquo;", "&#8216;", "&#x2018;", "&lsquo;", "&#700;", "&#x2bc;",
)  # fmt: skip
REFERENCE_PATTERN = r"&(?:[a-z][a-z0-9]*|#[0-9]+|#x[0-9a-f]+);"
LINE_BREAK_PATTERN_V3 = r"(?:<|&lt;)br */?(?:>|&gt;)"
JOINER_PATTERN_V3 = "(?:'|" + "|".join(APOSTROPHE_REFERENCES) + ")"
TOKEN_PATTERN_V3 = f"[a-z0-9]+(?:{JOINER_PATTERN_V3}[a-z0-9]+)*"
_SCANNER_V3 = re.compile(f"{LINE_BREAK_PATTERN_V3}|{REFERENCE_PATTERN}|({TOKEN_PATTERN_V3})")
_JOINER_REFERENCE = re.compile("|".join(APOSTROPHE_REFERENCES))

# The same rules without a regex for the common text, several times faster (tokenizing is
# the largest cost of scoring a file besides the model). Rule 3's tokens are the maximal
# runs of ASCII letters, digits and joining apostrophes (an apostrophe joins when a letter
# or digit stands on both sides), so after lowercasing and dropping line-break tags, one
# byte table turns every other byte into a space (UTF-8 writes non-ASCII characters with
# bytes >= 0x80 only), lone apostrophes become spaces too, and bytes.split() yields exactly
# the tokens. A version 3 text that holds a reference takes the scanner above.
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789'"
_BYTE_TABLE = bytes(c if c in _WORD_BYTES else 32 for c in range(256))
_LINE_BREAK_BYTES = re.compile(LINE_BREAK_PATTERN.encode())
_REFERENCE_BYTES = re.compile(REFERENCE_PATTERN.encode())

Keep = Literal["last", "first"]
MAX_SUPPORTED_LENGTH = 100_000


class ContractError(LstmSentimentError, ValueError):
    """A contract (or its JSON form) is invalid or of an unsupported version."""


def ascii_lower(text: str) -> str:
    """Lowercase A-Z only (rule 1); non-ASCII characters are returned unchanged."""
    # str.lower() is a fast C loop and equals the rule on pure-ASCII text. bytes.lower()
    # changes only ASCII bytes, and UTF-8 never uses ASCII bytes inside a multi-byte
    # character, so the round trip is the rule too ('surrogatepass' keeps lone surrogates).
    if text.isascii():
        return text.lower()
    return text.encode("utf-8", "surrogatepass").lower().decode("utf-8", "surrogatepass")


def tokenize(text: str, version: int = 1) -> list[str]:
    """Split a review into tokens by rules 1-3 of contract ``version``."""
    tokens = _token_bytes(text, version)
    if tokens is not None:
        return [token.decode("ascii") for token in tokens]
    return _scan(text, version)


def _scan(text: str, version: int) -> list[str]:
    """Rules 1-3 by the regular expressions themselves (the byte rule's reference, and its
    fallback for version 3 texts with references)."""
    if version >= 2 and not text.isascii():
        text = text.translate(_APOSTROPHES)
    text = ascii_lower(text)
    if version >= 3 and "&" in text:  # no reference without "&": the faster scans serve
        tokens = _SCANNER_V3.findall(text)
        return [_JOINER_REFERENCE.sub("'", t) if "&" in t else t for t in tokens if t]
    if "<br" in text:
        return [token for token in _SCANNER.findall(text) if token]
    return _TOKEN.findall(text)


def _token_bytes(text: str, version: int) -> list[bytes] | None:
    """``tokenize``'s tokens as ASCII bytes, or None for a text the byte rule does not cover
    (a version 3 text with a reference in it)."""
    data = _classified(text, version)
    if data is None:
        return None
    if b"'" in data:  # lone apostrophes (beside a space, another one or an end) separate
        data = b" " + data + b" "
        while b"''" in data:  # an odd run leaves one, beside spaces now: the next step
            data = data.replace(b"''", b"  ")
        data = data.replace(b" '", b"  ").replace(b"' ", b"  ")
    return data.split()


def _classified(text: str, version: int) -> bytes | None:
    """The byte rule's first steps: ``text`` lowercased, its line-break tags and every byte
    that is not a letter, digit or apostrophe made spaces; None where the rule does not
    cover the text."""
    if version >= 2 and not text.isascii():
        for apostrophe in TYPOGRAPHIC_APOSTROPHES:  # faster than str.translate's dict
            if apostrophe in text:
                text = text.replace(apostrophe, "'")
    data = text.encode("utf-8", "surrogatepass").lower()  # bytes.lower() is rule 1
    if version >= 3 and b"&" in data and _REFERENCE_BYTES.search(data):
        return None
    if b"<br" in data:
        data = data.replace(b"<br />", b" ")  # the usual spelling, before the slower regex
        if b"<br" in data:
            data = _LINE_BREAK_BYTES.sub(b" ", data)
    return data.translate(_BYTE_TABLE)


class _PackedVocabulary:
    """The vocabulary as fixed-width integer keys in a hash table, so that a whole batch of
    texts is looked up with array operations instead of one dict lookup per token.

    A token of up to ``8 * words`` bytes packs into ``words`` little-endian uint64s (zero
    bytes after its end; tokens hold none), which identify it exactly. The table is a
    cuckoo hash (Pagh and Rodler, 2004): every vocabulary token sits in one of its two
    slots, so a lookup reads two slots, and a candidate counts only when all its words are
    equal to the token's, so the ids are exact whatever the hashes do.
    """

    MIX = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93)

    def __init__(self, vocabulary: tuple[str, ...]) -> None:
        self.longest = max(map(len, vocabulary))
        self.words = -(-self.longest // 8)
        encoded = b" ".join(token.encode("ascii") for token in vocabulary)
        lengths = np.fromiter(map(len, vocabulary), np.int64, len(vocabulary))
        starts = np.cumsum(lengths + 1) - lengths - 1
        self.keys = self.pack(self.words_of(encoded), starts, lengths)
        # A spare slot (index len(vocabulary)) that no token matches: empty slots point there.
        self.mixed = np.append(self.mix(self.keys, lengths), np.uint64(0))  # no token mixes to 0
        self.keys = np.concatenate([self.keys, np.zeros((self.words, 1), np.uint64)], axis=1)
        self.bits = max(8, int(len(vocabulary) * 3).bit_length())  # a third full or less
        while not self._build(self.mixed[:-1]):
            self.bits += 1

    def _build(self, mixed: np.ndarray) -> bool:
        """Place every token in one of its two slots; False when that fails at this size."""
        empty = len(mixed)
        slots = [[empty] * (1 << self.bits) for _ in range(2)]
        homes = [self.home(mixed, side).tolist() for side in (0, 1)]
        for token in range(len(mixed)):
            moving, side = token, 0
            for _ in range(64):
                slot = homes[side][moving]
                moving, slots[side][slot] = slots[side][slot], moving
                if moving == empty:
                    break
                side = 1 - side
            else:
                return False
        self.slots = np.array(slots, np.int32)
        return True

    def home(self, mixed: np.ndarray, side: int) -> np.ndarray:
        """Each token's slot on ``side`` (0 or 1) of the table."""
        with np.errstate(over="ignore"):
            spread = mixed * np.uint64(self.MIX[side])
        return (spread >> np.uint64(64 - self.bits)).astype(np.intp)

    def words_of(self, data: bytes) -> np.ndarray:
        """``data`` as a uint64 starting at every byte (zeros past its end), to pack from."""
        padded = data + bytes(8 * self.words + 8)
        return np.ndarray((len(padded) - 7,), np.dtype("<u8"), padded, 0, (1,))

    def pack(self, view: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """``[words, tokens]`` keys of the tokens at ``starts`` (``view``: ``words_of``)."""
        keys = np.zeros((self.words, len(starts)), np.uint64)
        for word in range(self.words):
            np.bitwise_and(
                view[starts + 8 * word],
                _BYTE_MASKS[np.clip(lengths - 8 * word, 0, 8)],
                out=keys[word],
            )
        return keys

    def mix(self, keys: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """One uint64 a token: the first word alone for tokens of up to 8 bytes, the words
        mixed with the top bit set for longer ones, so that the two kinds never meet."""
        mixed = keys[0].copy()
        with np.errstate(over="ignore"):
            for word in range(1, len(keys)):
                mixed ^= keys[word] * np.uint64(self.MIX[(word + 1) % len(self.MIX)])
        # ASCII bytes leave the top bit of a one-word key clear
        mixed[lengths > 8] |= np.uint64(1 << 63)
        return mixed

    def ids(self, data: bytes, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The id of each token (``FIRST_WORD_ID`` onwards, or ``OOV_ID``), as int32."""
        # Most tokens fit one word: that for all, every word only for the longer tokens.
        view = self.words_of(data)
        mixed = view[starts] & _BYTE_MASKS[np.minimum(lengths, 8)]
        long = np.flatnonzero(lengths > 8)
        long_keys = self.pack(view, starts[long], lengths[long])
        if len(long):
            mixed[long] = self.mix(long_keys, lengths[long])
        # Frequent tokens went in first and mostly sit on side 0: side 1 sees the misses only.
        first = self.slots[0][self.home(mixed, 0)]
        ids = self._found(first, mixed, lengths, long, long_keys)
        missed = np.flatnonzero(ids == OOV_ID)
        if len(missed):
            mixed, lengths = mixed[missed], lengths[missed]
            missed_long = np.flatnonzero(lengths > 8)
            keys = long_keys[:, np.searchsorted(long, missed[missed_long])]
            second = self.slots[1][self.home(mixed, 1)]
            ids[missed] = self._found(second, mixed, lengths, missed_long, keys)
        return ids

    def _found(
        self,
        candidate: np.ndarray,
        mixed: np.ndarray,
        lengths: np.ndarray,
        long: np.ndarray,
        long_keys: np.ndarray,
    ) -> np.ndarray:
        """The ids of the tokens that are their ``candidate`` word, else ``OOV_ID``
        (``long``: the tokens of over 8 bytes, whose words are ``long_keys``)."""
        # A token of up to 8 bytes is its first word, which the mix leaves as it is, so
        # equal mixes are equal tokens; longer ones compare every word.
        found = self.mixed[candidate] == mixed
        hits = found[long]
        if hits.any():
            at = long[hits]
            same = np.all(self.keys[:, candidate[at]] == long_keys[:, hits], axis=0)
            # a token longer than the longest word may share its packed words
            found[at[~same | (lengths[at] > self.longest)]] = False
        return np.where(found, candidate + FIRST_WORD_ID, OOV_ID).astype(np.int32)


# The first n bytes of a little-endian uint64, for n = 0..8.
_BYTE_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], np.uint64)
# Texts tokenized together by encode_many: large enough for the array operations to pay,
# small enough that their temporary arrays stay a few MB.
_CHUNK = 1024


def token_spans(text: str, version: int = 1) -> list[tuple[int, int]]:
    """Where each of ``tokenize(text, version)``'s tokens is written in ``text``: ``(start,
    end)`` character offsets, so that the token is ``text[start:end]`` as written (before
    lowercasing and the apostrophe rules). Rules 1 and 2's steps map every character to one
    character, so offsets into the prepared text are offsets into ``text``."""
    if version >= 2 and not text.isascii():
        text = text.translate(_APOSTROPHES)
    text = ascii_lower(text)
    if version >= 3 and "&" in text:
        return [m.span(1) for m in _SCANNER_V3.finditer(text) if m.group(1)]
    # Rule 3 by character classes (a Match object per token costs more, and explaining a
    # file spans every review): a token is a run of letters and digits, an apostrophe
    # between two of them joins the run, and a line-break tag's characters are no letters.
    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    word = ((codes >= 97) & (codes <= 122)) | ((codes >= 48) & (codes <= 57))
    if "<br" in text:
        for tag in _LINE_BREAK.finditer(text):
            word[tag.start() : tag.end()] = False
    joins = (codes[1:-1] == 39) & word[:-2] & word[2:]
    word[1:-1] |= joins
    edges = np.flatnonzero(np.diff(word, prepend=False, append=False))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def count_tokens(texts: Iterable[str], version: int = 1) -> Counter[str]:
    """Token frequencies over ``texts``, the input to ``build_vocabulary``."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(tokenize(text, version))
    return counts


def build_vocabulary(counts: Counter[str], vocab_size: int) -> tuple[str, ...]:
    """The ``vocab_size - 3`` most frequent tokens, ties broken by code-point order.

    ``vocab_size`` counts the three special ids, as Keras' ``num_words`` does, so the
    model's embedding table has exactly ``vocab_size`` rows.
    """
    if vocab_size <= FIRST_WORD_ID:
        raise ContractError(f"vocab_size must be greater than {FIRST_WORD_ID}, got {vocab_size}")
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(token for token, _ in ranked[: vocab_size - FIRST_WORD_ID])


class _Index(dict):
    """Token (str, or its ASCII bytes) -> id, with every unknown token mapping to the
    out-of-vocabulary id."""

    def __missing__(self, token: str | bytes) -> int:
        return OOV_ID


@dataclass(frozen=True)
class TextContract:
    """Vocabulary, maximum length, truncation side and rule version: everything that turns
    text into ids."""

    vocabulary: tuple[str, ...]
    max_length: int = 500
    keep: Keep = "last"
    version: int = 1
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _byte_index: dict[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        vocabulary = tuple(self.vocabulary)
        object.__setattr__(self, "vocabulary", vocabulary)
        _check_fields(vocabulary, self.max_length, self.keep, self.version)
        index = _Index((token, FIRST_WORD_ID + i) for i, token in enumerate(vocabulary))
        object.__setattr__(self, "_index", index)
        byte_index = _Index((token.encode("ascii"), i) for token, i in index.items())
        object.__setattr__(self, "_byte_index", byte_index)

    @functools.cached_property
    def _packed(self) -> _PackedVocabulary:
        # Built on the first encode_many, not with every contract a model load validates.
        return _PackedVocabulary(self.vocabulary)

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        vocab_size: int = 10_000,
        max_length: int = 500,
        keep: Keep = "last",
        version: int = 1,
    ) -> TextContract:
        """Build the contract from training text (never from evaluation text)."""
        vocabulary = build_vocabulary(count_tokens(texts, version), vocab_size)
        return cls(vocabulary, max_length, keep, version)

    @property
    def vocab_size(self) -> int:
        """Rows the model's embedding table needs: the vocabulary plus the special ids."""
        return len(self.vocabulary) + FIRST_WORD_ID

    def encode(self, text: str) -> np.ndarray:
        """The ids of one review (rule 5), as int32, unpadded."""
        # map() over the dict's C-level lookup; misses fall to __missing__.
        tokens: list[bytes] | list[str] | None = _token_bytes(text, self.version)
        index: dict[Any, int] = self._byte_index
        if tokens is None:
            tokens, index = _scan(text, self.version), self._index
        room = self.max_length - 1
        if len(tokens) > room:
            tokens = tokens[-room:] if self.keep == "last" else tokens[:room]
        ids = np.empty(len(tokens) + 1, dtype=np.int32)
        ids[0] = START_ID
        ids[1:] = list(map(index.__getitem__, tokens))
        return ids

    def encode_many(self, texts: Sequence[str]) -> list[np.ndarray]:
        """``[self.encode(text) for text in texts]``, several times faster: the texts are
        tokenized and looked up together, with array operations over their bytes."""
        packed = self._packed
        encoded: list[np.ndarray] = []
        for first in range(0, len(texts), _CHUNK):
            encoded.extend(self._encode_chunk(texts[first : first + _CHUNK], packed))
        return encoded

    def _encode_chunk(self, texts: Sequence[str], packed: _PackedVocabulary) -> list[np.ndarray]:
        classified = [_classified(text, self.version) for text in texts]
        scanned = [i for i, c in enumerate(classified) if c is None]
        for i in scanned:
            classified[i] = b""  # encoded by the scanner below
        data = b" ".join(classified)  # type: ignore[arg-type]
        codes = np.frombuffer(data, np.uint8)
        # The table leaves spaces (32), apostrophes (39), digits and letters (48 and up);
        # an apostrophe joins a token when a letter or digit stands on both sides.
        word = codes > 39
        word[1:-1] |= (codes[1:-1] == 39) & word[:-2] & word[2:]
        edges = np.flatnonzero(np.diff(word, prepend=False, append=False))
        starts, ends = edges[::2], edges[1::2]
        sizes = np.fromiter(map(len, classified), np.int64, len(texts)) + 1  # type: ignore[arg-type]
        firsts = np.searchsorted(starts, np.cumsum(sizes) - sizes)  # each text's first token
        counts = np.diff(firsts, append=len(starts))
        ids = packed.ids(data, starts, ends - starts)
        # Rule 5: keep the last (or first) max_length - 1 tokens of each text.
        room = self.max_length - 1
        cut = np.flatnonzero(counts > room)
        if len(cut):
            drop = np.zeros(len(ids) + 1, np.int32)  # +1 where a dropped run starts, -1 after
            begin = firsts[cut] if self.keep == "last" else firsts[cut] + room
            drop[begin] += 1
            drop[begin + counts[cut] - room] -= 1
            ids, counts = ids[np.cumsum(drop[:-1]) == 0], np.minimum(counts, room)
        bounds = np.cumsum(counts + 1)
        heads = bounds - counts - 1
        out = np.empty(int(bounds[-1]) if len(texts) else 0, np.int32)
        rest = np.ones(len(out), bool)
        rest[heads] = False
        out[heads] = START_ID
        out[rest] = ids
        encoded = [out[a:b] for a, b in zip(heads.tolist(), bounds.tolist(), strict=True)]
        for i in scanned:
            encoded[i] = self.encode(texts[i])
        return encoded

    def encode_batch(
        self, texts: Sequence[str], pad_to: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Post-padded ids ``[batch, time]`` and true lengths ``[batch]``, both int32.

        ``time`` is the longest review in the batch, or ``pad_to`` when given (it must be at
        least that long).
        """
        return pad_batch(self.encode_many(texts), pad_to)

    # -- serialization ---------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "rule": _rule(self.version),
            "special_ids": {"pad": PAD_ID, "start": START_ID, "oov": OOV_ID},
            "max_length": self.max_length,
            "keep": self.keep,
            "vocabulary": list(self.vocabulary),
        }

    def to_json(self) -> str:
        """Compact, deterministic JSON (the same contract always gives the same bytes)."""
        return json.dumps(self.to_dict(), ensure_ascii=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Any) -> TextContract:
        """Validate and load a contract; JSON from a model file is untrusted input."""
        if not isinstance(data, dict):
            raise ContractError("a text contract must be a JSON object")
        if data.get("format") != FORMAT:
            raise ContractError(f"not a text contract (format is not {FORMAT!r})")
        version = data.get("version")
        if isinstance(version, bool) or version not in VERSIONS:
            raise ContractError(
                f"text contract version {version!r} is not supported by this lstm-sentiment "
                f"(it reads versions {', '.join(map(str, VERSIONS))}); upgrade the package or "
                "re-export the model"
            )
        if data.get("rule") != _rule(version):
            raise ContractError(f"text contract rule does not match version {version}'s rule")
        if data.get("special_ids") != {"pad": PAD_ID, "start": START_ID, "oov": OOV_ID}:
            raise ContractError(f"text contract special ids do not match version {version}")
        vocabulary = data.get("vocabulary")
        if not isinstance(vocabulary, list):
            raise ContractError("text contract vocabulary must be a list of tokens")
        return cls(tuple(vocabulary), data.get("max_length"), data.get("keep"), version)  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, text: str) -> TextContract:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as error:
            raise ContractError(f"text contract is not valid JSON: {error}") from None
        return cls.from_dict(data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TextContract:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ContractError(f"cannot read text contract {path}: {error}") from None
        return cls.from_json(text)


def pad_batch(
    encoded: Sequence[np.ndarray], pad_to: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Post-pad already encoded reviews with ``PAD_ID``; returns ``(ids, lengths)``."""
    lengths = np.fromiter((len(ids) for ids in encoded), dtype=np.int32, count=len(encoded))
    longest = int(lengths.max()) if len(encoded) else 0
    width = longest if pad_to is None else pad_to
    if width < longest:
        raise ValueError(f"pad_to={pad_to} is shorter than the longest review ({longest})")
    batch = np.full((len(encoded), width), PAD_ID, dtype=np.int32)
    for row, ids in enumerate(encoded):
        batch[row, : len(ids)] = ids
    return batch, lengths


def _rule(version: int) -> dict[str, Any]:
    rule = {
        "lowercase": "ascii",
        "line_break": LINE_BREAK_PATTERN,
        "token": TOKEN_PATTERN,
    }
    if version >= 2:
        rule["apostrophes"] = TYPOGRAPHIC_APOSTROPHES
    if version >= 3:
        rule["references"] = {
            "line_break": LINE_BREAK_PATTERN_V3,
            "apostrophe": list(APOSTROPHE_REFERENCES),
            "separator": REFERENCE_PATTERN,
        }
    return rule


def settings_problems(max_length: Any, keep: Any, version: Any) -> list[str]:
    """What is wrong with these contract settings (empty when nothing is); the training
    config checks its own settings with this too."""
    problems = []
    if isinstance(version, bool) or version not in VERSIONS:
        problems.append(f"version must be one of {VERSIONS}, got {version!r}")
    if isinstance(max_length, bool) or not isinstance(max_length, int):
        problems.append(f"max_length must be an integer, got {max_length!r}")
    elif not 2 <= max_length <= MAX_SUPPORTED_LENGTH:
        problems.append(f"max_length must be in 2..{MAX_SUPPORTED_LENGTH}, got {max_length}")
    if keep not in ("last", "first"):
        problems.append(f"keep must be 'last' or 'first', got {keep!r}")
    return problems


def _check_fields(vocabulary: tuple[Any, ...], max_length: Any, keep: Any, version: Any) -> None:
    problems = settings_problems(max_length, keep, version)
    if problems:
        raise ContractError(problems[0])
    if not vocabulary:
        raise ContractError("the vocabulary is empty")
    seen: set[str] = set()
    for token in vocabulary:
        if not isinstance(token, str) or not _TOKEN.fullmatch(token):
            raise ContractError(f"vocabulary entry {token!r} is not a token under the rule")
        if token in seen:
            raise ContractError(f"vocabulary entry {token!r} appears twice")
        seen.add(token)
