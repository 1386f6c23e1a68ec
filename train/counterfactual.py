"""Counterfactual short texts cut from corpus sentences: a negation put in, or the sentence
turned into a question and answered.

    from lstm_sentiment.train.counterfactual import counterfactuals
    counterfactuals(["The plot was dull and the acting weak."], per_text=2, seed=0)
    # ['The plot was not dull and the acting weak.',
    #  'Was the plot dull and the acting weak? No, not at all.']

IMDb rarely says "the plot was not dull" or "Did I enjoy it? No.", so a student of its
reviews never learns how a negation or an answer turns a sentence; its n-gram teacher
reads "not dull" as "dull". These texts show both on the corpus's own words: simple
sentences ("<subject> is/was/are/were <rest>", "I would/will <rest>", "I
loved/liked/... <rest>") get a negation after their verb, or become the question they
answer followed by a yes or a no. The recipe scores them with the lexicon teacher
(``train/lexicon.py``), whose rules read negation and answers, so they carry its targets.
Sentences that already hold a negation, a question or a contrast are left alone: flipping
those is not a simple turn. A training aid, never shipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

_SENTENCE = re.compile(r"(?<=[.!])\s+|<br\s*/?>", re.I)
_SUBJECT = r"(?:the|this|that|it|these|those|his|her|their|its|my|our)\b[a-z' -]{0,40}?"
# What a statement looks like when its negation or its question is one simple turn.
# One clause only: a comma's second clause would fall outside the negation's scope.
_REST = r"(?P<rest>[a-z][^?;:,]*)"
_BE = re.compile(rf"^(?P<subject>{_SUBJECT}) (?P<verb>is|was|are|were) {_REST}$")
_MODAL = re.compile(rf"^i (?P<verb>would|will) {_REST}$")
_PAST = {"loved": "love", "liked": "like", "enjoyed": "enjoy", "hated": "hate",
         "disliked": "dislike", "recommend": "recommend", "love": "love", "like": "like",
         "enjoy": "enjoy", "hate": "hate", "adored": "adore", "loathed": "loathe"}  # fmt: skip
_DO = re.compile(rf"^i (?P<verb>{'|'.join(_PAST)}) {_REST}$")
_NEGATED = re.compile(
    r"n't|\b(?:not|no|never|nothing|nor|neither|but|however|although|cant|dont|wont|isnt"
    r"|wasnt|didnt|doesnt|arent|werent|aint)\b"
)
_NO = ("No.", "No, not at all.", "Not really.", "Nope.", "No.", "No, not really.")
_YES = ("Yes.", "Yes, very.", "Yes, really.", "Absolutely.", "Yes!", "Definitely.")


def counterfactuals(
    texts: Sequence[str],
    per_text: int,
    seed: int,
    negations: float = 1 / 3,
    varied: bool = False,
) -> list[str]:
    """Up to ``per_text`` counterfactual texts from each of ``texts`` (fewer where it has
    too few simple sentences), each from another sentence, in order of the texts; a share
    ``negations`` of them negations, the others questions answered. ``varied``: a negation
    takes one of several common forms (``not``, a contraction, "I don't think ...", "... at
    all") rather than always ``not`` after the verb."""
    rng = random.Random(seed)
    made: list[str] = []
    for text in texts:
        sentences = [s for s in (_simple(s) for s in _SENTENCE.split(text)) if s is not None]
        for sentence in rng.sample(sentences, min(per_text, len(sentences))):
            made.append(_turn(sentence, rng, negations, varied))
    return made


def _simple(sentence: str) -> tuple[str, re.Match[str]] | None:
    """The sentence (stripped of its end mark) and its match, when it can be turned."""
    bare = sentence.strip().rstrip(".!").strip()
    lowered = bare.lower()
    if not 3 <= len(lowered.split()) <= 12 or _NEGATED.search(lowered) or '"' in bare:
        return None
    for pattern in (_BE, _MODAL, _DO):
        found = pattern.match(lowered)
        if found:
            return bare, found
    return None


def _turn(
    simple: tuple[str, re.Match[str]], rng: random.Random, negations: float, varied: bool
) -> str:
    """A negation put in (a share ``negations`` of the time), else the question answered."""
    bare, found = simple
    verb, rest = found["verb"], bare[found.start("rest") :]
    subject = bare[: found.end("subject")] if "subject" in found.re.groupindex else "I"
    if rng.random() < negations:
        forms = _negations(bare, found, verb, rest)
        negated = rng.choice(forms) if varied else forms[0]
        return negated[0].upper() + negated[1:] + "."
    if found.re is _DO:
        question = f"{'Do' if verb == _PAST[verb] else 'Did'} I {_PAST[verb]} {rest}?"
    else:
        lowered_subject = subject if subject == "I" else subject[0].lower() + subject[1:]
        question = f"{verb.capitalize()} {lowered_subject} {rest}?"
    return f"{question} {rng.choice(_NO if rng.random() < 0.5 else _YES)}"


_CONTRACTED = {"is": "isn't", "was": "wasn't", "are": "aren't", "were": "weren't",
               "would": "wouldn't", "will": "won't"}  # fmt: skip


def _negations(bare: str, found: re.Match[str], verb: str, rest: str) -> list[str]:
    """The sentence negated in each form, the plain ``not`` after the verb first."""
    lowered = bare[0].lower() + bare[1:] if not bare.startswith("I ") else bare
    if found.re is _DO:
        base, aux = _PAST[verb], "do" if verb == _PAST[verb] else "did"
        return [f"I {aux} not {base} {rest}", f"I {aux}n't {base} {rest}",
                f"I don't think {lowered}", f"I {aux}n't {base} {rest} at all"]  # fmt: skip
    head = bare[: found.start("verb")]
    return [f"{bare[: found.start('rest')]}not {rest}", f"{head}{_CONTRACTED[verb]} {rest}",
            f"I don't think {lowered}", f"{head}{_CONTRACTED[verb]} {rest} at all"]  # fmt: skip
