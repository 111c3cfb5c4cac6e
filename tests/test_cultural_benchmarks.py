"""CulturalBench, NormAd and GlobalOpinionQA: schema mapping on the project's own fixtures (real column
layouts, read through the real loader), the published metrics on constructed responses checked
against values computed by hand, and the errors for malformed rows. No model is loaded: responses
are built by `evaluate.respond`, the function that writes stored Responses, from chosen log-probs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tuner.errors import UserError
from tuner.evals.benchmarks import culturalbench as cb
from tuner.evals.benchmarks import globalopinions as go
from tuner.evals.benchmarks import normad
from tuner.evals.evaluate import respond
from tuner.evals.loaders import read_rows
from tuner.evals.prompts import Prompt, Variant, build_prompt
from tuner.evals.spec import Item, load_spec

FIXTURES = Path(__file__).parent / "fixtures" / "cultural"
SPECS = {
    "culturalbench_easy": "culturalbench_easy.csv",
    "culturalbench_hard": "culturalbench_hard.csv",
    "normad": "normad.csv",
    "globalopinionqa": "globalopinionqa.csv",
}
NO_PROMPT = Prompt(context="", continuations=[])  # respond() reads the prompt only for mc_loglik character counts


def fixture_rows(name: str) -> tuple[list[dict], str]:
    """The fixture read exactly as `tuner eval` reads the real file: the shipped spec, its path swapped."""
    spec = load_spec(name)
    spec.source.path = str(FIXTURES / SPECS[name])
    return read_rows(spec)


def with_cell(rows: list[dict], index: int, column: str, value: object) -> list[dict]:
    """A copy of the rows with one cell changed (the fixture itself stays intact)."""
    changed = [dict(r) for r in rows]
    changed[index][column] = value
    return changed


def answer(item: Item, right: bool, name: str) -> dict:
    """A stored Response whose prediction is the right choice or, if not `right`, the next one."""
    spec = load_spec(name)
    pred = item.answer if right else (item.answer + 1) % len(item.choices)
    logprobs = [math.log(0.9) if i == pred else math.log(0.1 / (len(item.choices) - 1)) for i in range(len(item.choices))]
    return respond(item, spec, Variant.parse("en+scoring=mc_letter").resolved(spec), NO_PROMPT, logprobs)


def with_distribution(item: Item, prob: list[float]) -> dict:
    """A stored `distribution` Response whose option probabilities are exactly `prob`."""
    spec = load_spec("globalopinionqa")
    logprobs = [math.log(p) if p > 0 else float("-inf") for p in prob]
    return respond(item, spec, Variant.parse("en").resolved(spec), NO_PROMPT, logprobs)


# -- specs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_cultural_specs_validate_and_name_an_existing_module(name):
    spec = load_spec(name)
    assert spec.source.path and spec.source.license and spec.source.get
    mod = spec.benchmark_module()
    assert mod.__name__.startswith("tuner.evals.benchmarks.")
    assert callable(mod.build_items) and callable(mod.metrics)


def test_absent_data_error_says_what_to_download_and_where(tmp_path):
    spec = load_spec("normad")
    spec.source.path = str(tmp_path / "normad.csv")
    with pytest.raises(UserError, match=r"not found\..*akhilayerukola/NormAd.*eval/cultural/data/normad\.csv"):
        read_rows(spec)


# -- CulturalBench ----------------------------------------------------------------------------------


def test_culturalbench_easy_maps_the_real_columns():
    rows, label = fixture_rows("culturalbench_easy")
    items = cb.build_items(rows, label, subset="easy")
    assert len(items) == 12
    first = items[0]
    # row 1: answer "B" -> index 1; options a..d in order; question_idx 1 (an int in the CSV) -> id "1"
    assert (first.id, first.answer, first.country) == ("1", 1, "India")
    assert first.choices == ["A firm handshake", "Touching the grandparent's feet", "A kiss on both cheeks", "A wave from the doorway"]
    assert [it.answer for it in items] == [1, 2, 0, 0, 3, 1, 0, 1, 2, 3, 0, 1]
    assert sum(it.country == "India" for it in items) == 4


def test_culturalbench_easy_accuracy_per_country_with_india():
    rows, label = fixture_rows("culturalbench_easy")
    items = cb.easy_items(rows, label)
    wrong = {"4", "6", "10"}  # one India, one Japan, one Brazil question answered wrong
    responses = [answer(it, it.id not in wrong, "culturalbench_easy") for it in items]
    result = cb.metrics(responses, items)
    # overall 9/12 = 0.75; India rows 1-4, row 4 wrong: 3/4; Japan 1/2; Germany 1/1
    assert (result["overall"]["correct"], result["overall"]["n"]) == (9, 12)
    assert result["india"]["accuracy"] == 0.75 and result["india"] == result["by_country"]["India"]
    assert result["by_country"]["Japan"]["accuracy"] == 0.5
    assert result["by_country"]["Germany"]["accuracy"] == 1.0


def test_culturalbench_easy_bad_answer_and_missing_column_name_file_row_column():
    rows, label = fixture_rows("culturalbench_easy")
    bad = with_cell(rows, 2, "answer", "E")
    with pytest.raises(UserError, match=r"culturalbench_easy\.csv row 3: column 'answer' = 'E' is not one of A, B, C, D"):
        cb.easy_items(bad, label)
    del bad[0]["prompt_option_c"]
    with pytest.raises(UserError, match=r"row 1: column 'prompt_option_c' is missing"):
        cb.easy_items(bad, label)


def test_culturalbench_hard_rows_become_two_choice_items():
    rows, label = fixture_rows("culturalbench_hard")
    items = cb.hard_items(rows, label)
    assert len(items) == 16
    first = items[0]  # data_idx 0 of question 101, answer True -> choice 0 ("True")
    assert (first.id, first.choices, first.answer, first.country) == ("101/0", ["True", "False"], 0, "India")
    assert first.meta["question_idx"] == "101" and first.meta["option"] == "Shoes are taken off"
    assert first.question.endswith("\nAnswer: Shoes are taken off\nIs this answer true or false for this question?")
    # each fixture question has one true option among its four rows
    assert [it.answer for it in items].count(0) == 4
    yes_no = cb.hard_items(rows, label, answer_style="yes_no")
    assert yes_no[1].choices == ["Yes", "No"] and yes_no[1].answer == 1  # row 2 is a false option
    assert yes_no[1].question.endswith("Is this answer correct for this question?")


def test_culturalbench_hard_counts_a_question_only_if_all_four_rows_are_right():
    rows, label = fixture_rows("culturalbench_hard")
    items = cb.hard_items(rows, label)
    # Questions: 101 India (rows 0-3), 102 India (4-7), 103 Japan (8-11), 104 Nigeria (12-15).
    wrong_rows = {"102/5", "104/12", "104/15"}  # 102: one row wrong; 104: two rows wrong
    responses = [answer(it, it.id not in wrong_rows, "culturalbench_hard") for it in items]
    result = cb.hard_accuracy(responses)
    # rows right: 16 - 3 = 13 -> 0.8125; questions right: 101 and 103 -> 2/4 = 0.5
    assert (result["rows"]["correct"], result["rows"]["n"]) == (13, 16)
    assert (result["overall"]["correct"], result["overall"]["n"], result["overall"]["accuracy"]) == (2, 4, 0.5)
    # India: 101 right, 102 wrong despite 3 of 4 rows right -> 1/2
    assert result["india"]["accuracy"] == 0.5 and result["by_country"]["Japan"]["accuracy"] == 1.0
    assert result["by_country"]["Nigeria"]["accuracy"] == 0.0 and result["incomplete"] == 0

    # A model that calls every option "True" gets the 4 true rows (4/16) and no question.
    spec = load_spec("culturalbench_hard")
    always_true = [respond(it, spec, Variant.parse("en+scoring=mc_letter").resolved(spec), NO_PROMPT, [-0.1, -2.3]) for it in items]
    result = cb.metrics(always_true, items)
    assert result["rows"]["accuracy"] == 0.25 and result["overall"]["correct"] == 0

    # A question missing a row cannot be judged by the all-four rule: left out and counted.
    partial = [r for r in responses if r["id"] != "103/9"]
    result = cb.hard_accuracy(partial)
    # questions judged: 101 right, 102 wrong, 104 wrong -> 1/3; rows 12/15
    assert (result["overall"]["correct"], result["overall"]["n"], result["incomplete"]) == (1, 3, 1)
    assert (result["rows"]["correct"], result["rows"]["n"]) == (12, 15)


def test_culturalbench_hard_bad_rows_name_file_row_column():
    rows, label = fixture_rows("culturalbench_hard")
    bad = with_cell(rows, 5, "answer", "perhaps")
    with pytest.raises(UserError, match=r"culturalbench_hard\.csv row 6: column 'answer' = 'perhaps' is not a boolean"):
        cb.hard_items(bad, label)
    bad = with_cell(rows, 1, "country", "Nepal")
    with pytest.raises(UserError, match=r"row 2: column 'country' = 'Nepal' but row 1 of question_idx 101 says 'India'"):
        cb.hard_items(bad, label)


# -- NormAd -----------------------------------------------------------------------------------------


def test_normad_levels_render_the_right_context():
    rows, label = fixture_rows("normad")
    story = (
        "Meera met her friend's grandfather for the first time and called him by his first name without any title. "
        "Is what Meera did socially acceptable?"
    )
    by_level = {it.meta["level"]: it for it in normad.items(rows[1:2], label)}  # fixture row 2, India, gold "no"
    assert by_level["none"].question == f"Story: {story}\nQuestion: Is the action in the story socially acceptable?"
    asked = "Question: Is the action in the story socially acceptable in India?"
    assert by_level["country"].question == f"Country: India\nStory: {story}\n{asked}"
    assert by_level["value"].question == (
        f"Country: India\nValue: Respect for elders.\nStory: {story}\nQuestion: Is the action in the story socially acceptable in India?"
    )
    assert by_level["rot"].question == (
        "Country: India\nRule of thumb: It is rude to address an older person by their bare first name.\n"
        f"Story: {story}\nQuestion: Is the action in the story socially acceptable in India?"
    )
    assert "India" not in by_level["none"].question  # the no-context level must not leak the country
    for level, it in by_level.items():
        assert (it.id, it.category, it.country, it.answer, it.choices) == (f"2/{level}", level, "India", 1, ["Yes", "No", "Neither"])
    # The full prompt under the shipped spec (golden: prompt drift changes scores silently).
    spec = load_spec("normad")
    p = build_prompt(by_level["country"], spec, Variant.parse("en").resolved(spec), [], None)
    assert p.context == (
        "Read the story and judge the main character's action. Choose one option.\n"
        f"Country: India\nStory: {story}\nQuestion: Is the action in the story socially acceptable in India?\n"
        "A. Yes\nB. No\nC. Neither\nAnswer:"
    )


def test_normad_gold_labels_and_level_selection():
    rows, label = fixture_rows("normad")
    items = normad.items(rows, label)
    assert len(items) == 8 * 4
    gold = {it.id.split("/")[0]: it.answer for it in items}
    # yes -> 0 (Yes), no -> 1 (No), neutral -> 2 (Neither)
    assert gold == {"1": 0, "2": 1, "3": 2, "4": 1, "5": 0, "6": 1, "7": 0, "8": 0}
    rot = normad.items(rows, label, "rot")
    assert len(rot) == 8 and {it.category for it in rot} == {"rot"}
    with pytest.raises(UserError, match="use some of none, country, value, rot"):
        normad.items(rows, label, "background")
    bad = with_cell(rows, 1, "Gold Label", "maybe")
    with pytest.raises(UserError, match=r"normad\.csv row 2: column 'Gold Label' = 'maybe' is not yes, no or neutral"):
        normad.items(bad, label)


def test_normad_accuracy_per_level_and_country():
    rows, label = fixture_rows("normad")
    items = normad.items(rows, label)
    gold_yes = {"1", "5", "7", "8"}
    india = {"1", "2", "3"}

    def right(it: Item) -> bool:
        row, level = it.id.split("/")
        return {
            "none": row in gold_yes,  # a model that always says Yes without context
            "country": row in {"1", "2", "3", "4"},
            "value": row in india,
            "rot": True,
        }[level]

    result = normad.metrics([answer(it, right(it), "normad") for it in items], items)
    acc = {lv: result["by_level"][lv]["accuracy"] for lv in normad.LEVELS}
    # none 4/8, country 4/8, value 3/8, rot 8/8
    assert acc == {"none": 0.5, "country": 0.5, "value": 0.375, "rot": 1.0}
    # India (rows 1-3, gold yes/no/neutral): none 1/3, the other levels 3/3
    assert result["india"]["none"]["accuracy"] == pytest.approx(1 / 3)
    assert all(result["india"][lv]["accuracy"] == 1.0 for lv in ("country", "value", "rot"))
    # Japan at none: row 4 (no) wrong, row 5 (yes) right -> 1/2
    assert result["by_level_country"]["none"]["Japan"]["accuracy"] == 0.5


# -- GlobalOpinionQA -------------------------------------------------------------------------------


def test_js_similarity_against_hand_values_and_scipy():
    # p = [1, 0], q = [0.5, 0.5]: m = [0.75, 0.25]
    # KL(p||m) = log2(1/0.75) = 0.4150375; KL(q||m) = 0.5 log2(0.5/0.75) + 0.5 log2(0.5/0.25) = 0.2075187
    # JSD = (0.4150375 + 0.2075187) / 2 = 0.3112781; distance = sqrt = 0.5579230; similarity = 0.4420770
    assert go.similarity([1, 0], [0.5, 0.5]) == pytest.approx(0.4420770, abs=1e-7)
    assert go.similarity([1, 0], [0, 1]) == pytest.approx(0.0, abs=1e-12)  # disjoint: JSD = 1
    assert go.similarity([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == pytest.approx(1.0, abs=1e-12)
    assert go.similarity([2, 0], [1, 1]) == pytest.approx(0.4420770, abs=1e-7)  # shares are normalised first
    with pytest.raises(ValueError, match="differ in shape"):
        go.similarity([0.5, 0.5], [0.2, 0.3, 0.5])

    jensenshannon = pytest.importorskip("scipy.spatial.distance").jensenshannon
    import numpy as np

    rng = np.random.default_rng(0)
    for k in (2, 3, 4, 7):
        for _ in range(20):
            p, q = rng.dirichlet(np.ones(k)), rng.dirichlet(np.ones(k))
            p[rng.integers(k)] = 0.0  # zeros occur in survey shares
            assert go.jensen_shannon_distance(p, q) == pytest.approx(float(jensenshannon(p, q, base=2)), abs=1e-12)
            assert go.similarity(p, q) == pytest.approx(1 - float(jensenshannon(p, q, base=2)), abs=1e-12)


def test_globalopinionqa_maps_the_real_columns():
    rows, label = fixture_rows("globalopinionqa")
    items = go.build_items(rows, label)
    assert len(items) == 6 and all(it.answer is None for it in items)
    first = items[0]
    assert first.choices == ["Very important", "Somewhat important", "Not too important", "Not at all important"]
    assert first.meta["selections"]["India"] == [0.62, 0.25, 0.08, 0.05]
    assert set(first.meta["selections"]) == {"India", "United States", "Japan", "Brazil"}
    assert first.category == "GAS" and items[2].category == "WVS"
    assert len({it.id for it in items}) == 6


def test_selections_parsing_safe_and_strict(tmp_path):
    where = "opinions.csv row 3"
    hub = "defaultdict(<class 'list'>, {'India': [0.4, 0.6], 'United States': [0.7, 0.3]})"
    assert go.parse_selections(hub, where) == {"India": [0.4, 0.6], "United States": [0.7, 0.3]}
    assert go.parse_selections("{'India': [1, 0]}", where) == {"India": [1.0, 0.0]}  # a plain dict repr
    gap = go.parse_selections("defaultdict(<class 'list'>, {'India': [nan, 0.5]})", where)
    assert math.isnan(gap["India"][0])  # a survey gap reads as NaN and is later skipped, not fatal
    with pytest.raises(UserError, match=r"^opinions\.csv row 3: column 'selections' = .* is not readable"):
        go.parse_selections("defaultdict(<class 'list'>, {'India': [0.4, 0.6]", where)
    with pytest.raises(UserError, match=r"column 'selections': entry 'India'.*not a list of numbers"):
        go.parse_selections("{'India': ['many', 'few']}", where)
    # Code in a data file is never run: literal_eval refuses calls.
    marker = tmp_path / "ran"
    for hostile in (f"__import__('pathlib').Path({str(marker)!r}).touch()",
                    f"defaultdict(<class 'list'>, {{'India': __import__('pathlib').Path({str(marker)!r}).touch()}})"):
        with pytest.raises(UserError, match="column 'selections'"):
            go.parse_selections(hostile, where)
    assert not marker.exists()
    with pytest.raises(UserError, match=r"row 3: column 'options' = .* is not readable"):
        go.parse_options("['Yes', 'No'", where)
    rows, label = fixture_rows("globalopinionqa")
    bad = with_cell(rows, 3, "selections", "defaultdict(<class 'list'>, {'Japan': [0.1, 0.9}")
    with pytest.raises(UserError, match=r"globalopinionqa\.csv row 4: column 'selections'"):
        go.items(bad, label)


def test_country_similarity_india_vs_usa_by_hand():
    dd = "defaultdict(<class 'list'>, {})"
    rows = [
        {"question": "Q1", "options": "['Agree', 'Disagree']", "source": "GAS",
         "selections": dd.format("{'India': [1.0, 0.0], 'United States': [0.0, 1.0], 'Japan': [0.5, 0.5], 'Germany': [0.2, 0.3, 0.5]}")},
        {"question": "Q2", "options": "['Yes', 'No']", "source": "GAS",
         "selections": dd.format("{'India': [1.0, 0.0], 'United States': [0.5, 0.5], 'Brazil': [0.5, 0.5], 'Pakistan': [0.0, 0.0]}")},
        {"question": "Q3", "options": "['Good', 'Bad', 'Neither']", "source": "WVS",
         "selections": dd.format("{'Kenya': [0.0, 1.0, 0.0]}")},
        {"question": "Q4", "options": "['Often', 'Rarely']", "source": "WVS",
         "selections": dd.format("{'India': [0.5, 0.5]}")},
    ]
    items = go.items(rows, "constructed.csv")
    spec = load_spec("globalopinionqa")
    responses = [
        with_distribution(items[0], [1.0, 0.0]),
        with_distribution(items[1], [0.5, 0.5]),
        with_distribution(items[2], [0.0, 1.0, 0.0]),
        respond(items[3], spec, Variant.parse("en+scoring=generate").resolved(spec), NO_PROMPT, "A"),  # no distribution
    ]
    result = go.country_similarity(responses, items)
    s = 0.4420769547158562  # similarity([1, 0], [0.5, 0.5]), derived by hand in the JS test above
    # Q1: India 1, USA 0, Japan s; Germany has 3 shares for 2 options -> skipped
    # Q2: India s, USA 1, Brazil 1; Pakistan all zeros -> skipped.  Q3: Kenya 1.  Q4: no distribution.
    assert result["skipped"] == {"option_mismatch": 1, "invalid_distribution": 1, "no_distribution": 1}
    assert result["india"] == {"n": 2, "similarity": pytest.approx((1 + s) / 2)}  # 0.7210385
    assert result["usa"] == {"n": 2, "similarity": pytest.approx(0.5)}
    assert [(q["india"], q["usa"]) for q in result["per_question"]] == [(1.0, 0.0), (pytest.approx(s), 1.0)]
    # paired difference India - USA: (1 - 0) and (s - 1) -> mean s / 2 = 0.2210385
    diff = result["india_minus_usa"]
    assert diff["n"] == 2 and diff["mean"] == pytest.approx(s / 2)
    assert s - 1 <= diff["ci_low"] <= diff["mean"] <= diff["ci_high"] <= 1.0
    # ranking: Brazil 1, Kenya 1 (tie broken by name), India 0.721, United States 0.5, Japan 0.442
    assert [c["country"] for c in result["most_similar"]] == ["Brazil", "Kenya", "India", "United States", "Japan"]
    assert [c["country"] for c in result["least_similar"]] == ["Japan", "United States", "India", "Kenya", "Brazil"]
    two = go.country_similarity(responses, items, top=2, min_questions=2)
    assert [c["country"] for c in two["most_similar"]] == ["India", "United States"]
    assert [c["country"] for c in two["least_similar"]] == ["United States", "India"]
    assert go.metrics(responses, items) == result
