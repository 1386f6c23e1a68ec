"""A lexicon-and-rules teacher for short texts: where the n-gram teacher is weakest.

    from lstm_sentiment.train.lexicon import LexiconTeacher
    teacher = LexiconTeacher()
    teacher.score(["Not bad at all.", "I don't think this film is good."])  # P(positive)

IMDb reviewers write "not bad" in reviews that pan the film, so every model fitted on their
labels, the n-gram teacher included, reads "not bad" as negative. A lexicon reads it by a
rule instead. This one takes VADER's word valences and intensifiers (Hutto and Gilbert,
ICWSM 2014; the vaderSentiment package) and composes them with three rules of its own:

- negation reaches to the end of its clause (the rule of Das and Chen 2001 and Pang et al.
  2002), not VADER's three words back: in "I don't think this film is good" it reaches
  "good"; "not only" is no negation; a negator's own valence does not count;
- "but" weights what comes before it by 0.5 and what follows by 1.5 (as VADER does);
- a question answered by "no" (or "not really", "not at all", "nope") counts the
  question's sentiment negated, and one answered by "yes" counts it as it is; the answer
  word itself is not counted.

Scores map VADER's normalised sum x / sqrt(x^2 + 15) from [-1, 1] to [0, 1]. It is a
training aid (the ``train`` extra), never shipped.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

NEGATION_SCALE = -0.74  # VADER's N_SCALAR: a negated word keeps about three quarters
_ALPHA = 15.0  # VADER's normalisation constant
_TOKEN = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)*|[.!?;:,]")
_CLAUSE_END = {",", ";", ":", ".", "!", "?"}
_SENTENCE = re.compile(r"(?<=[.!?])\s+|<br\s*/?>", re.I)
# "absolutely not" before "absolutely": the first answer a sentence opens with decides
_NO_ANSWERS = ("no", "nope", "not really", "not at all", "hardly", "nah", "not even close",
               "absolutely not", "definitely not", "certainly not", "of course not")  # fmt: skip
_YES_ANSWERS = ("yes", "yeah", "yep", "absolutely", "definitely", "indeed", "of course")


class LexiconTeacher:
    """P(positive) of texts by VADER's lexicon and the rules of the module's docstring."""

    def __init__(self) -> None:
        try:
            from vaderSentiment import vaderSentiment as vader
        except ImportError as error:
            raise ImportError(
                "the lexicon teacher needs vaderSentiment: pip install 'lstm-sentiment[train]'"
            ) from error
        self.lexicon: dict[str, float] = dict(vader.SentimentIntensityAnalyzer().lexicon)
        self.negators = {w.replace("'", "") for w in vader.NEGATE} | {"no", "cannot"}
        self.boosters = {w: float(v) for w, v in vader.BOOSTER_DICT.items() if " " not in w}

    def score(self, texts: Sequence[str]) -> list[float]:
        return [self.probability(text) for text in texts]

    def probability(self, text: str, rules: bool = True) -> float:
        """P(positive); ``rules=False`` leaves out negation and answered questions."""
        total = self.valence(text, rules)
        return (total / math.sqrt(total * total + _ALPHA) + 1) / 2

    def rule_shift(self, texts: Sequence[str]) -> list[float]:
        """How far the negation and question rules move each text's probability: large
        where a negation or an answer turns a sentiment word, 0 where they change nothing."""
        return [abs(self.probability(t) - self.probability(t, rules=False)) for t in texts]

    def valence(self, text: str, rules: bool = True) -> float:
        """The summed valence of ``text`` (0 for a text with no sentiment word)."""
        sentences = [s for s in _SENTENCE.split(text) if s.strip()]
        total, pending_question = 0.0, None
        for sentence in sentences:
            lowered = sentence.strip().lower()
            answer = _answer(lowered) if rules else None
            if pending_question is not None and answer is not None:
                total += pending_question * (NEGATION_SCALE if answer == "no" else 1.0)
                lowered = _without_answer(lowered)
            elif pending_question is not None:
                total += pending_question
            value = self._sentence(lowered, rules)
            if lowered.rstrip().endswith("?"):
                pending_question = value  # counted once the answer (if any) is known
            else:
                total, pending_question = total + value, None
        return total + (pending_question or 0.0)

    def _sentence(self, sentence: str, rules: bool = True) -> float:
        tokens = [t.replace("\u2019", "'") for t in _TOKEN.findall(sentence)]
        values: list[float] = []
        negated = False
        but_at: int | None = None
        for i, token in enumerate(tokens):
            bare = token.replace("'", "")
            if token in _CLAUSE_END:
                negated = False
                continue
            if token == "but":
                but_at, negated = len(values), False
                continue
            if bare in self.negators:
                negated = rules and not (i + 1 < len(tokens) and tokens[i + 1] == "only")
                continue
            value = self.lexicon.get(token, self.lexicon.get(bare, 0.0))
            if not value:
                continue
            for back in (1, 2):
                boost = self.boosters.get(tokens[i - back]) if i >= back else None
                if boost:
                    value += math.copysign(boost, value) * (1.0 if back == 1 else 0.95)
            values.append(value * (NEGATION_SCALE if negated else 1.0))
        if but_at is not None:
            values = [v * 0.5 for v in values[:but_at]] + [v * 1.5 for v in values[but_at:]]
        return sum(values)


def _answer(sentence: str) -> str | None:
    """'no' or 'yes' when a sentence opens with an answer to a question, else None."""
    head = sentence.lstrip(" \"'(").replace(",", " ").replace(".", " ").replace("!", " ")
    for kind, answers in (("no", _NO_ANSWERS), ("yes", _YES_ANSWERS)):
        if any(head == a or head.startswith(a + " ") for a in answers):
            return kind
    return None


def _without_answer(sentence: str) -> str:
    """The sentence with its opening answer word(s) taken off."""
    for answer in sorted(_NO_ANSWERS + _YES_ANSWERS, key=len, reverse=True):
        stripped = sentence.lstrip(" \"'(")
        if stripped.startswith(answer):
            return stripped[len(answer) :]
    return sentence


def has_negation_or_question(text: str, negators: set[str]) -> bool:
    """Whether a text holds a negator or a question: where the lexicon's rules matter."""
    if "?" in text:
        return True
    words = {w.replace("'", "").replace("\u2019", "") for w in _TOKEN.findall(text.lower())}
    return bool(words & negators)
