"""The behavioural suite and the lexicon teacher: cases per capability, held-out words kept
apart from training ones, reference rows, and clear errors for a bad suite."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_sentiment.export.cli import app
from lstm_sentiment.train import behaviour
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.contrast import contrasts
from lstm_sentiment.train.counterfactual import counterfactuals
from lstm_sentiment.train.lexicon import LexiconTeacher, has_negation_or_question

runner = CliRunner()


@pytest.fixture(scope="module")
def lexicon():
    return LexiconTeacher()


@pytest.mark.parametrize(
    ("text", "positive"),
    [
        ("Not bad at all.", True),
        ("I don't think this film is good.", False),
        ("This phone is not dull.", True),
        ("Did I find it brilliant? No, not at all.", False),
        ("Was it dull? No, not at all.", True),
        ("Was it brilliant? Yes, absolutely.", True),
        ("Was it brilliant? Absolutely not.", False),
        ("Was it dull? Definitely not.", True),
        ("I used to think it was dull, but now I love it.", True),
        ("Not only good but also cheap.", True),
        ("Awful.", False),
    ],
)
def test_the_lexicon_teacher_reads_negation_contrast_and_answers(lexicon, text, positive):
    assert (lexicon.probability(text) > 0.5) is positive


def test_the_lexicon_teacher_is_neutral_on_a_text_without_sentiment_words(lexicon):
    assert lexicon.probability("The train leaves at nine.") == 0.5


def test_crops_with_a_negation_or_a_question_are_told_apart(lexicon):
    assert has_negation_or_question("It wasn't dull.", lexicon.negators)
    assert has_negation_or_question("Was it good?", lexicon.negators)
    assert not has_negation_or_question("A moment of great fun.", lexicon.negators)


def test_lexicon_weights_blend_only_the_crops_they_name(lexicon):
    from lstm_sentiment.train.distill import _with_lexicon

    config = TrainConfig(lexicon_weight=1.0, lexicon_weight_plain=0.0)
    crops = ["It was not bad.", "A fine film."]
    blended = _with_lexicon(config, crops, np.array([0.1, 0.3], np.float32), lambda _: None)
    assert blended[0] == pytest.approx(lexicon.probability(crops[0]))
    assert blended[1] == pytest.approx(0.3)
    with pytest.raises(ValueError, match="lexicon_weight"):
        TrainConfig(lexicon_weight=1.5)


@pytest.mark.parametrize(
    ("sentence", "negated", "question"),
    [
        ("The plot was dull.", "The plot was not dull.", "Was the plot dull?"),
        ("Their songs are lovely!", "Their songs are not lovely.", "Are their songs lovely?"),
        ("I loved the ending.", "I did not love the ending.", "Did I love the ending?"),
        ("I recommend it.", "I do not recommend it.", "Do I recommend it?"),
        ("I would watch it again.", "I would not watch it again.", "Would I watch it again?"),
    ],
)
def test_counterfactuals_negate_a_sentence_or_ask_it_and_answer(sentence, negated, question):
    made = {t for seed in range(40) for t in counterfactuals([sentence], 1, seed)}
    asked = {t for t in made if t.startswith(question + " ")}
    assert negated in made and asked and made == asked | {negated}
    answers = {t.removeprefix(question + " ") for t in asked}
    assert any(a.startswith("No") for a in answers) and any(a.startswith("Yes") for a in answers)


@pytest.mark.parametrize(
    "sentence",
    ["The plot was not dull.", "It was good, but long.", "Was it good?", "The end.",
     "Watch it.", "The film is so good that I cried and laughed and cried again all night."],
)  # fmt: skip
def test_counterfactuals_leave_alone_what_is_no_simple_turn(sentence):
    assert counterfactuals([sentence], 3, 0) == []


def test_counterfactual_targets_come_from_the_lexicon_and_skip_neutral_ones(lexicon):
    from lstm_sentiment.train.distill import _counterfactual_texts

    config = TrainConfig(teacher_folds=5, counterfactuals=2)
    reviews = ["The acting was superb. The train was at nine. It is dreadful."] * 3
    texts, targets = _counterfactual_texts(config, reviews, lambda _: None)
    assert texts and len(texts) == len(targets) and not any("train" in t for t in texts)
    assert list(targets) == pytest.approx([lexicon.probability(t) for t in texts])
    for text, target in zip(texts, targets, strict=True):
        superb = "superb" in text
        turned = " not " in text or "? N" in text
        assert bool(target > 0.5) is (superb != turned), text
    with pytest.raises(ValueError, match="counterfactual"):
        TrainConfig(counterfactuals=1)
    sharp = TrainConfig(teacher_folds=5, counterfactuals=2, counterfactual_sharpness=3.0)
    sharp_texts, sharp_targets = _counterfactual_texts(sharp, reviews, lambda _: None)
    assert sharp_texts == texts
    # the same side of 0.5, further from it: logit times 3
    logits = np.log(targets / (1 - targets))
    assert np.log(sharp_targets / (1 - sharp_targets)) == pytest.approx(3 * logits, rel=1e-3)
    with pytest.raises(ValueError, match="sharpness"):
        TrainConfig(counterfactual_sharpness=0)


@pytest.mark.parametrize(
    ("sentence", "forms"),
    [
        ("The plot was dull.", {"The plot was not dull.", "The plot wasn't dull.",
                                "I don't think the plot was dull.",
                                "The plot wasn't dull at all."}),
        ("I loved the ending.", {"I did not love the ending.", "I didn't love the ending.",
                                 "I don't think I loved the ending.",
                                 "I didn't love the ending at all."}),
        ("I would happily watch it again.", {"I would not happily watch it again.",
                                             "I wouldn't happily watch it again.",
                                             "I don't think I would happily watch it again.",
                                             "I wouldn't happily watch it again at all."}),
    ],
)  # fmt: skip
def test_varied_counterfactual_negations_take_every_form(sentence, forms, lexicon):
    made = {t for seed in range(60) for t in counterfactuals([sentence], 1, seed, 1.0, True)}
    assert made == forms
    # and the lexicon reads every form as the negation it is
    plain = lexicon.probability(sentence)
    for text in forms:
        assert (lexicon.probability(text) - 0.5) * (plain - 0.5) < 0, text


def test_counterfactual_negation_share():
    sentences = [f"The plot was dull number {i}." for i in range(400)]
    for share in (0.0, 0.5, 1.0):
        made = counterfactuals(sentences, 1, 0, negations=share)
        negated = sum("?" not in t and " not " in t for t in made) / len(made)
        assert negated == pytest.approx(share, abs=0.07), share
    with pytest.raises(ValueError, match="counterfactual_negations"):
        TrainConfig(counterfactual_negations=1.5)


_GOOD = ["The cast is superb in every scene.", "My kids loved the music from start to end!"]
_BAD = ["The plot was dull and slow.", "Those effects look cheap and fake."]
_OTHER = [
    "It is a film about a town.",
    "But the end is great.",
    "Was it any good?",
    "The plot was not dull.",
    "Good. Very good.",
    "The score was terrible; I left.",
]


def test_contrasts_join_opposite_sentences_with_the_verdicts_target():
    texts = _GOOD + _BAD + _OTHER
    targets = [0.9, 0.95, 0.1, 0.15, 0.5, 0.9, 0.2, 0.8, 0.9, 0.05]
    made, made_targets = contrasts(texts, targets, 400, 0)
    assert len(made) == len(made_targets) == 400
    bare = {s.rstrip(".!"): t for s, t in zip(texts, targets, strict=True)}
    verdict_last = verdict_first = 0
    for text, target in zip(made, made_targets, strict=True):
        # exactly one clear positive and one clear negative sentence in each, nothing else
        inside = [s for s in bare if s.lower() in text.lower()]
        assert len(inside) == 2, text
        assert {bare[s] > 0.5 for s in inside} == {True, False}, text
        assert not any(s.rstrip(".!?").lower() in text.lower() for s in _OTHER), text
        verdict = next(s for s in inside if bare[s] == pytest.approx(float(target)))
        conceded = next(s for s in inside if s != verdict)
        later = text.lower().index(verdict.lower()) > text.lower().index(conceded.lower())
        verdict_last += later
        verdict_first += not later
        # the concession marker sits on the conceded side, never on the verdict
        if not later:
            assert re.search(r", (although|even though) ", text), text
        assert text[0].isupper() and text.endswith("."), text
    # neither position nor polarity alone gives the verdict
    assert verdict_first > 20 and verdict_last > 200
    assert 0.35 < float(np.mean(made_targets > 0.5)) < 0.65
    assert contrasts(_GOOD + _OTHER, [0.9, 0.9] + [0.5] * 6, 10, 0)[0] == []


def test_contrast_texts_in_a_run_need_a_teacher_and_both_sentiments():
    from lstm_sentiment.train.distill import RunError, _contrast_texts

    with pytest.raises(ValueError, match="contrast"):
        TrainConfig(contrasts=5)
    with pytest.raises(ValueError, match="contrasts must be"):
        TrainConfig(teacher_folds=5, contrasts=-1)
    config = TrainConfig(teacher_folds=5, contrasts=30)
    texts, targets = _contrast_texts(config, _GOOD + _BAD, np.array([0.9, 0.9, 0.1, 0.1]), print)
    assert len(texts) == 30 and sorted(set(targets.tolist())) == pytest.approx([0.1, 0.9])
    with pytest.raises(RunError, match="both sentiments"):
        _contrast_texts(config, _GOOD, np.array([0.9, 0.9]), print)
    assert _contrast_texts(TrainConfig(), _GOOD + _BAD, np.ones(4), print)[0] == []


def test_held_out_cases_use_no_training_template_or_word():
    suite = behaviour.load_suite()
    train = {c.text for c in behaviour.cases(suite, "train")}
    held = behaviour.cases(suite, "held_out")
    assert held and not train & {c.text for c in held}
    words = suite["words"]
    for slot in words.values():
        assert not set(slot["train"]) & set(slot["held_out"])
    for name, parts in suite["capabilities"].items():
        templates = {t["template"] for t in parts["train"]}
        assert not templates & {t["template"] for t in parts["held_out"]}, name


def test_every_required_capability_is_in_the_suite():
    names = set(behaviour.load_suite()["capabilities"])
    for needed in ("vocabulary", "negated positive", "negated negative", "negation idioms",
                   "negation scope", "contrast", "change of mind", "question and answer",
                   "other domains"):  # fmt: skip
        assert needed in names
    assert any(name.startswith("invariance") for name in names)


def test_scores_are_pass_rates_per_capability():
    found = [
        behaviour.Case("a", "good", 1),
        behaviour.Case("a", "bad", 1),
        behaviour.Case("b", "BAD", None, "bad"),
        behaviour.Case("b", "!!!", 0),
    ]
    table = {"good": 0.9, "bad": 0.1, "BAD": 0.8, "!!!": float("nan")}
    result = behaviour.score_cases(found, lambda texts: np.array([table[t] for t in texts]))
    assert result["capabilities"] == {"a": 0.5, "b": 0.0}  # a flip, and no score: failures
    assert result["overall"] == 0.25 and result["cases"] == 4


def test_behaviour_command_prints_a_row_per_capability_with_reference_columns():
    result = runner.invoke(app, ["behaviour", "fp32", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert set(rows) == {"fp32", "VADER", "TextBlob"}
    assert set(rows["fp32"]["capabilities"]) == set(behaviour.load_suite()["capabilities"])


def test_a_suite_that_does_not_parse_or_lacks_a_held_out_part_is_one_error_line(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["behaviour", "fp32", "--suite", str(broken)])
    assert result.exit_code == 2 and "error: cannot read the behavioural suite" in result.output
    suite = behaviour.load_suite()
    suite["capabilities"]["contrast"]["held_out"] = []
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps(suite), encoding="utf-8")
    result = runner.invoke(app, ["behaviour", "fp32", "--suite", str(empty)])
    assert result.exit_code == 2 and "'contrast' has no 'held_out' templates" in result.output


def test_without_the_lexicon_package_the_command_names_the_install():
    code = (
        "import sys; sys.modules['vaderSentiment'] = None; sys.argv = ['lstm-sentiment', "
        "'behaviour', 'fp32']; from lstm_sentiment.export.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'lstm-sentiment[train]'" in done.stderr and "Traceback" not in done.stderr


def test_training_reads_only_the_suites_training_part():
    from lstm_sentiment.train.distill import _suite_texts

    texts, targets = _suite_texts(TrainConfig(suite_copies=3))
    held = {c.text for c in behaviour.cases(behaviour.load_suite(), "held_out")}
    assert texts and not set(texts) & held
    assert set(targets.tolist()) == {0.0, 1.0}
    assert _suite_texts(TrainConfig())[0] == []
    with pytest.raises(ValueError, match="suite_copies"):
        TrainConfig(suite_copies=-1)


def test_the_lexicon_gate_blends_only_crops_where_a_negation_turns_a_word():
    from lstm_sentiment.train.distill import _with_lexicon
    from lstm_sentiment.train.lexicon import LexiconTeacher

    crops = [
        "This phone is not dull.",  # negation turns "dull": blended
        "I did not go, and the film was great.",  # a "not" that turns nothing: kept
        "The film was great.",  # no negation: kept
        "Did I like it? No.",  # an answered question turns "like": blended
    ]
    shift = LexiconTeacher().rule_shift(crops)
    assert shift[0] > 0.2 and shift[3] > 0.2 and shift[1] == 0 and shift[2] == 0
    teacher = np.full(len(crops), 0.1, dtype=np.float32)
    config = TrainConfig(lexicon_weight=1.0, lexicon_gate=0.1)
    blended = _with_lexicon(config, crops, teacher.copy(), lambda _: None)
    assert blended[0] > 0.5 and blended[3] < 0.5  # the lexicon's reading of each
    np.testing.assert_array_equal(blended[[1, 2]], teacher[[1, 2]])
    ungated = _with_lexicon(TrainConfig(lexicon_weight=1.0), crops, teacher.copy(), lambda _: None)
    assert ungated[1] != teacher[1]  # without the gate any crop with a "not" is blended
    with pytest.raises(ValueError, match="lexicon_gate"):
        TrainConfig(lexicon_gate=1.5)
