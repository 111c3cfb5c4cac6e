"""Values questionnaires (VSM 2013, Inglehart-Welzel map): metrics against hand-computed values.

Model answers are built with the real `respond()` from option log-probabilities, so the tests read
Responses in the exact shape the result store keeps. No model is loaded.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tuner.errors import UserError
from tuner.evals.evaluate import respond
from tuner.evals.loaders import load_items
from tuner.evals.prompts import Variant, build_prompt
from tuner.evals.spec import Item, load_spec
from tuner.evals.values import iw_map, vsm
from tuner.evals.values.iw_map import ITEMS, MapPoint, Projection


def responses_for(spec_id: str, lang: str, probs: dict[str, list[float]]) -> list[dict]:
    """Responses of one variant, each item answered with the given option probabilities."""
    spec = load_spec(spec_id)
    variant = Variant(lang).resolved(spec)
    items = {it.id: it for it in load_items(spec) if it.lang == lang}
    out = []
    for item_id, p in probs.items():
        item: Item = items[item_id]
        logprobs = [math.log(x) if x > 0 else -1e9 for x in p]
        out.append(respond(item, spec, variant, build_prompt(item, spec, variant, [], None), logprobs))
    return out


# -- VSM 2013 ----------------------------------------------------------------------------------

MEANS = {f"m{i:02d}": 3.0 for i in range(1, 25)} | {
    "m07": 3.4, "m02": 2.1, "m20": 3.2, "m23": 2.6,  # PDI
    "m04": 2.2, "m01": 1.8, "m09": 2.9, "m06": 1.7,  # IDV
    "m05": 2.0, "m03": 2.5, "m08": 2.4, "m10": 2.8,  # MAS
    "m18": 2.3, "m15": 3.1, "m21": 2.6, "m24": 3.0,  # UAI
    "m13": 2.2, "m14": 2.0, "m19": 2.5, "m22": 1.9,  # LTO
    "m12": 2.7, "m11": 2.1, "m17": 3.3, "m16": 2.2,  # IVR
}


def test_vsm_indices_from_item_means_match_the_hand_computation():
    constants = {"PDI": -10, "IDV": 0, "MAS": 60, "UAI": 100, "LTO": 20, "IVR": -20}
    got = vsm.indices(MEANS, constants)
    # PDI = 35(3.4 - 2.1) + 25(3.2 - 2.6) - 10 = 45.5 + 15 - 10 = 50.5
    # IDV = 35(2.2 - 1.8) + 35(2.9 - 1.7) + 0 = 14 + 42 = 56
    # MAS = 35(2.0 - 2.5) + 35(2.4 - 2.8) + 60 = -17.5 - 14 + 60 = 28.5
    # UAI = 40(2.3 - 3.1) + 25(2.6 - 3.0) + 100 = -32 - 10 + 100 = 58
    # LTO = 40(2.2 - 2.0) + 25(2.5 - 1.9) + 20 = 8 + 15 + 20 = 43
    # IVR = 35(2.7 - 2.1) + 40(3.3 - 2.2) - 20 = 21 + 44 - 20 = 45
    assert got == pytest.approx({"PDI": 50.5, "IDV": 56, "MAS": 28.5, "UAI": 58, "LTO": 43, "IVR": 45})
    assert vsm.indices(MEANS)["PDI"] == pytest.approx(60.5)  # C = 0: the raw index
    with pytest.raises(UserError, match="missing m07"):
        vsm.indices({k: v for k, v in MEANS.items() if k != "m07"})


def test_expected_and_argmax_scores_from_the_option_distribution():
    responses = responses_for("vsm", "en", {"m01": [0.1, 0.2, 0.3, 0.2, 0.2], "m02": [0.05, 0.5, 0.05, 0.1, 0.3]})
    # m01: 1(.1) + 2(.2) + 3(.3) + 4(.2) + 5(.2) = .1 + .4 + .9 + .8 + 1.0 = 3.2; most probable point 3
    # m02: .05 + 1.0 + .15 + .4 + 1.5 = 3.1; most probable point 2
    assert vsm.expected_scores(responses) == pytest.approx({"m01": 3.2, "m02": 3.1})
    assert vsm.argmax_scores(responses) == {"m01": 3.0, "m02": 2.0}
    with pytest.raises(UserError, match="appears twice"):
        vsm.expected_scores(responses + responses)


def test_anchor_constants_match_the_cross_country_means():
    raw = {"a": dict.fromkeys(vsm.DIMENSIONS, 10.0), "b": dict.fromkeys(vsm.DIMENSIONS, 30.0)}
    human = {"a": dict.fromkeys(vsm.DIMENSIONS, 70.0), "b": dict.fromkeys(vsm.DIMENSIONS, 40.0)}
    # C = mean(human) - mean(raw) = (70 + 40)/2 - (10 + 30)/2 = 55 - 20 = 35
    assert vsm.anchor_constants(raw, human) == pytest.approx(dict.fromkeys(vsm.DIMENSIONS, 35.0))
    with pytest.raises(UserError, match="at least 2"):
        vsm.anchor_constants({"a": raw["a"]}, human)


def test_alignment_metric_on_a_constructed_case():
    countries = {"A": {"PDI": 80, "IDV": 20}, "B": {"PDI": 40, "IDV": 90}, "C": {"PDI": 60, "IDV": 40}}
    # average: PDI (80 + 40 + 60)/3 = 60, IDV (20 + 90 + 40)/3 = 50
    # A's spread: (|80 - 60| + |20 - 50|)/2 = (20 + 30)/2 = 25
    # model (70, 30) vs A: (|70 - 80| + |30 - 20|)/2 = 10 -> ratio 25/10 = 2.5
    got = vsm.alignment({"PDI": 70, "IDV": 30}, countries["A"], countries)
    assert (got.ratio, got.country_spread, got.model_deviation) == pytest.approx((2.5, 25, 10))
    assert got.differences == {"PDI": -10, "IDV": 10}
    # answering with the cross-country average: deviation = spread -> ratio 1
    assert vsm.alignment({"PDI": 60, "IDV": 50}, countries["A"], countries).ratio == pytest.approx(1.0)
    assert vsm.alignment(countries["A"], countries["A"], countries).ratio == math.inf


def test_score_countries_puts_a_persona_blind_model_at_the_average_with_ratio_one():
    same = {p: MEANS for p in ("india", "usa", "japan")}
    result = vsm.score_countries(same)
    # every persona gets the same raw index, so the anchored score is the human mean of the three:
    # PDI (77 + 40 + 54)/3 = 57, IDV (48 + 91 + 46)/3 = 61.67 (reference/ file, rows IND, USA, JPN)
    for c in result.countries:
        assert c.scores["PDI"] == pytest.approx(57.0)
        assert c.scores["IDV"] == pytest.approx(185 / 3)
        assert c.alignment.ratio == pytest.approx(1.0)
    assert result.constants["PDI"] == pytest.approx(57.0 - 60.5)  # human mean - raw PDI of MEANS
    assert "| India |" in result.table() and result.mean_ratio == pytest.approx(1.0)
    with pytest.raises(UserError, match="not in"):
        vsm.score_countries({"atlantis": MEANS, "india": MEANS})


def test_vsm_summarize_scores_each_language_on_its_own():
    # india answers mostly A on every item, usa mostly E: every item mean is the same within a persona
    # (1.1 or 4.9), so every index is a difference of equal means, raw 0, e.g. PDI 35(1.1 - 1.1) + ... = 0
    ones = {i: [0.96, 0.01, 0.01, 0.01, 0.01] for i in vsm.ITEM_IDS}
    fives = {i: [0.01, 0.01, 0.01, 0.01, 0.96] for i in vsm.ITEM_IDS}
    runs = {("en", "india"): responses_for("vsm", "en", ones), ("en", "usa"): responses_for("vsm", "en", fives),
            ("de", "india"): responses_for("vsm", "de", ones), ("de", "usa"): responses_for("vsm", "de", ones)}
    got = vsm.summarize(runs)
    assert set(got) == {"en", "de"}
    # equal answers within a language: persona-blind, so every ratio is 1 (see the anchoring rule)
    assert [c.alignment.ratio for c in got["de"].countries] == pytest.approx([1.0, 1.0])
    assert got["en"].countries[0].raw == pytest.approx(dict.fromkeys(vsm.DIMENSIONS, 0.0))
    assert got["en"].countries[1].raw == pytest.approx(dict.fromkeys(vsm.DIMENSIONS, 0.0))
    with pytest.raises(UserError, match="no persona"):
        vsm.summarize({("en", ""): runs[("en", "india")]})


def test_shipped_vsm_files_are_complete_and_consistent():
    spec = load_spec("vsm")
    assert spec.scoring == "distribution"
    items = load_items(spec)
    assert {(it.id, it.lang) for it in items} == {(i, lang) for i in vsm.ITEM_IDS for lang in ("en", "hi", "de")}
    feeds = {item: dim for dim, terms in vsm.FORMULAS.items() for _, plus, minus in terms for item in (plus, minus)}
    for it in items:
        assert len(it.choices) == 5 and it.answer is None
        assert it.category == feeds[it.id], f"{it.key} is filed under {it.category}, its formula is {feeds[it.id]}"
    countries = vsm.load_countries()
    assert len(countries) == 20 and {"india", "usa", "china", "germany", "japan"} <= {c.persona for c in countries}
    human = vsm.human_scores(countries, vsm.load_hofstede())  # raises unless all six dimensions exist
    assert human["india"] == {"PDI": 77, "IDV": 48, "MAS": 56, "UAI": 40, "LTO": 51, "IVR": 26}
    assert all(set(texts) == {"en", "hi", "de"} for texts in vsm.personas().values())


def test_hofstede_parser_reads_null_and_names_bad_cells(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("ctr;country;pdi;idv;mas;uai;ltowvs;ivr\r\nALB;Albania;#NULL!;#NULL!;#NULL!;#NULL!;61;15\r\n")
    assert vsm.load_hofstede(path)["ALB"].scores == {"PDI": None, "IDV": None, "MAS": None, "UAI": None, "LTO": 61.0, "IVR": 15.0}
    path.write_text("ctr;country;pdi;idv;mas;uai;ltowvs;ivr\nIND;India;77;x;56;40;51;26\n")
    with pytest.raises(UserError, match=r"line 2, column 'idv'"):
        vsm.load_hofstede(path)


# -- Inglehart-Welzel map ----------------------------------------------------------------------

def test_y002_and_y003_are_built_from_their_components():
    first = [0.5, 0.1, 0.3, 0.1]  # E003: order, say, prices, speech
    uniform = [0.25] * 4
    # second choice uniform over the other three: P(i, j) = p1[i] / 3
    # materialist (order, prices either way): (0.5 + 0.3)/3; post-materialist: (0.1 + 0.1)/3; mixed: 2/3
    # E[Y002] = 1(0.8/3) + 2(2/3) + 3(0.2/3) = (0.8 + 4 + 0.6)/3 = 1.8
    assert iw_map.y002(first, uniform) == pytest.approx(1.8)
    assert iw_map.y002(first, [0.6, 0.1, 0.2, 0.1], "argmax") == 1  # order, then prices (order excluded)
    assert iw_map.y002([0.1, 0.6, 0.2, 0.1], [0.1, 0.5, 0.1, 0.3], "argmax") == 3  # say, then speech
    assert iw_map.y002([0.1, 0.6, 0.2, 0.1], [0.1, 0.5, 0.3, 0.1], "argmax") == 2  # say, then prices
    # Y003 = independence + determination - faith - obedience = 0.9 + 0.6 - 0.3 - 0.2 = 1.0
    assert iw_map.y003({"A029": 0.9, "A039": 0.6, "A040": 0.3, "A042": 0.2}) == pytest.approx(1.0)


def test_answers_read_all_ten_variables_from_responses():
    onehot = lambda k, n: [1.0 if i == k else 0.0 for i in range(n)]  # noqa: E731
    probs = {
        "A008": [0.5, 0.3, 0.2, 0.0], "A165": [0.25, 0.75], "E018": onehot(2, 3), "E025": onehot(1, 3),
        "F063": onehot(7, 10), "F118": onehot(0, 10), "F120": [0.1] * 10, "G006": onehot(0, 4),
        "E003": [0.5, 0.1, 0.3, 0.1], "E004": [0.25] * 4,
        "A029": [0.9, 0.1], "A039": [0.6, 0.4], "A040": [0.3, 0.7], "A042": [0.2, 0.8],
    }
    got = iw_map.answers(responses_for("iw_map", "hi", probs))
    # A008: 1(.5) + 2(.3) + 3(.2) = 1.7; A165: 1(.25) + 2(.75) = 1.75; F120 uniform over 1..10: 5.5
    assert got == pytest.approx({"F063": 8, "Y003": 1.0, "F120": 5.5, "G006": 1, "E018": 3,
                                 "Y002": 1.8, "A008": 1.7, "F118": 1, "E025": 2, "A165": 1.75})
    assert list(got) == list(ITEMS)
    top = iw_map.answers(responses_for("iw_map", "en", probs), "argmax")
    # argmax: A029 yes, A039 yes, A040 no, A042 no -> Y003 = 2; E003 order, E004 first of the rest = say -> mixed 2
    assert (top["Y003"], top["Y002"], top["A008"], top["A165"]) == (2, 2, 1, 2)
    with pytest.raises(UserError, match="no answers for E004"):
        iw_map.answers(responses_for("iw_map", "en", {k: v for k, v in probs.items() if k != "E004"}))


def rotation(deg: float) -> np.ndarray:
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])


@pytest.mark.parametrize("normalize", [True, False])
def test_varimax_recovers_a_rotated_simple_structure(normalize):
    # simple structure: items 1-3 on factor 1 only, items 4-5 on factor 2 only; varimax's optimum
    simple = np.array([[0.8, 0.0], [0.7, 0.0], [0.5, 0.0], [0.0, 0.9], [0.0, 0.6]])
    rotated_away = simple @ rotation(30)  # what an unrotated PCA might hand over
    # By hand (Kaiser normalised): rows become (.866, -.5) x3 and (.5, .866) x2, so
    # u = .5, v = -.866 (x3); u = -.5, v = .866 (x2); A = .5, B = -.866, C = 5(.25 - .75) = -2.5,
    # D = 2 * 5 * (-.433) = -4.33; phi = atan2(-4.33 + .173, -2.5 + .1)/4 = atan2(-4.157, -2.4)/4
    # = -120deg/4 = -30deg: T is the rotation by -30deg and undoes the +30deg exactly.
    got, T = iw_map.varimax(rotated_away, normalize=normalize)
    assert np.allclose(T, rotation(-30), atol=1e-10)
    assert np.allclose(got, simple, atol=1e-10)
    assert np.allclose(rotated_away @ T, got)
    # already simple: nothing to rotate
    same, T0 = iw_map.varimax(simple, normalize=normalize)
    assert np.allclose(T0, np.eye(2)) and np.allclose(same, simple)


def test_varimax_with_three_factors_recovers_the_simple_structure():
    simple = np.zeros((6, 3))
    simple[[0, 1], 0], simple[[2, 3], 1], simple[[4, 5], 2] = [0.8, 0.6], [0.7, 0.9], [0.5, 0.75]
    a, b = math.radians(20), math.radians(-35)
    mix = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]]) @ np.array(
        [[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]]
    )
    got, T = iw_map.varimax(simple @ mix)
    # columns may come back in another order or sign; each item's one non-zero loading must return
    assert np.allclose(np.sort(np.abs(got), axis=1)[:, -1], simple.max(axis=1), atol=1e-8)
    assert np.allclose(np.sort(np.abs(got), axis=1)[:, :2], 0, atol=1e-8)
    assert np.allclose(T @ T.T, np.eye(3))


def constructed_respondents(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Respondents with a known 2-factor structure in WVS-like codes.

    Each traditional item moves with latent `secular` in its POLE direction, each survival item with
    latent `selfexp`; survival items load more strongly, so PCA's first component is survival and
    the fit must reorder the factors to put traditional/secular first.
    """
    rng = np.random.default_rng(seed)
    secular, selfexp = rng.standard_normal(n), rng.standard_normal(n)
    cols = []
    for v in ITEMS:
        latent, strength = (secular, 1.0) if v in iw_map.TRADITIONAL else (selfexp, 2.0)
        cols.append(5.0 + iw_map.POLE[v] * strength * latent + rng.standard_normal(n))
    return np.stack(cols, axis=1), secular, selfexp


def test_fit_projection_recovers_the_orientation_of_a_known_structure():
    X, secular, selfexp = constructed_respondents()
    proj = iw_map.fit_projection(X)
    trad_rows = [ITEMS.index(v) for v in iw_map.TRADITIONAL]
    surv_rows = [ITEMS.index(v) for v in iw_map.SURVIVAL]
    # each item loads on its own factor with the sign of its pole, and barely on the other
    pole = np.array([iw_map.POLE[v] for v in ITEMS])
    assert np.all(proj.loadings[trad_rows, 0] * pole[trad_rows] > 0.5) and np.all(abs(proj.loadings[trad_rows, 1]) < 0.1)
    assert np.all(proj.loadings[surv_rows, 1] * pole[surv_rows] > 0.5) and np.all(abs(proj.loadings[surv_rows, 0]) < 0.1)
    points = np.array([proj.project(row) for row in X[:500]])
    assert np.corrcoef(points[:, 0], secular[:500])[0, 1] > 0.9  # secular-rational is +
    assert np.corrcoef(points[:, 1], selfexp[:500])[0, 1] > 0.9  # self-expression is +
    # the sample mean has z = 0, f = 0: only the WVS intercepts remain, (-0.10, 0.038)
    assert proj.project(proj.mean) == pytest.approx((-0.10, 0.038))
    # dropping rows with a missing value: one NaN row changes nothing
    X_nan = np.vstack([X, np.full(len(ITEMS), np.nan)])
    assert iw_map.fit_projection(X_nan).n_respondents == len(X)


def test_projection_of_a_point_matches_the_hand_computation(tmp_path):
    coef = np.zeros((10, 2))
    coef[ITEMS.index("F063"), 0] = -0.5
    coef[ITEMS.index("Y002"), 1] = 0.25
    proj = Projection(np.full(10, 5.0), np.full(10, 2.0), coef, coef, np.array([3.0, 2.0]), 100, "hand-made")
    x = {v: 5.0 for v in ITEMS} | {"F063": 3.0, "Y002": 7.0}
    # z(F063) = (3 - 5)/2 = -1, z(Y002) = (7 - 5)/2 = 1; f = (-0.5 * -1, 0.25 * 1) = (0.5, 0.25)
    # trad = 1.61 * 0.5 - 0.10 = 0.705; self-expression = 1.81 * 0.25 + 0.038 = 0.4905
    assert proj.project(x) == pytest.approx((0.705, 0.4905))
    path = iw_map.save_projection(proj, tmp_path / "projection.json")
    assert iw_map.load_projection(path).project(x) == pytest.approx((0.705, 0.4905))
    assert json.loads(path.read_text())["items"] == list(ITEMS)
    with pytest.raises(UserError, match="Integrated Values Surveys.*python -m tuner.evals.values.iw_map fit"):
        iw_map.load_projection(tmp_path / "absent.json")


def test_read_respondents_turns_ivs_missing_codes_into_nan(tmp_path):
    path = tmp_path / "ivs.csv"
    header = ",".join([*ITEMS, "S017"])
    # columns in ITEMS order: F063 Y003 F120 G006 E018 Y002 A008 F118 E025 A165, then the weight
    path.write_text(f"{header}\n3,-2,5,1,2,2,-1,4,1,2,1.2\n3,-5,5,1,2,2,2,4,1,2,0.8\n")
    X, w = iw_map.read_respondents(path, "S017")
    assert X[0, ITEMS.index("Y003")] == -2  # a valid autonomy score
    assert math.isnan(X[1, ITEMS.index("Y003")])  # -5: missing
    assert math.isnan(X[0, ITEMS.index("A008")])  # -1: don't know
    assert X[1, ITEMS.index("A008")] == 2
    assert list(w) == [1.2, 0.8]


def test_fit_from_an_ivs_csv_writes_a_projection_that_loads(tmp_path, capsys):
    # integer WVS codes within each variable's valid range, driven by the same two latent values
    rng = np.random.default_rng(1)
    secular, selfexp = rng.standard_normal(600), rng.standard_normal(600)
    cols = []
    for v in ITEMS:
        lo, hi = iw_map.VALID[v]
        latent = secular if v in iw_map.TRADITIONAL else selfexp
        share = 1 / (1 + np.exp(-(iw_map.POLE[v] * 1.5 * latent + rng.standard_normal(600))))
        cols.append(np.rint(lo + (hi - lo) * share))
    rows = np.stack(cols, axis=1)
    rows[0, ITEMS.index("A008")] = -1  # an IVS "don't know": that respondent is dropped
    csv_path = tmp_path / "ivs.csv"
    csv_path.write_text(",".join(ITEMS) + "\n" + "".join(",".join(f"{x:g}" for x in row) + "\n" for row in rows))
    iw_map._main(["fit", str(csv_path), "--out", str(tmp_path / "projection.json")])
    assert "fitted on 599 respondents" in capsys.readouterr().out
    proj = iw_map.load_projection(tmp_path / "projection.json")
    # orientation: rating God less important than average moves a respondent towards secular (+)
    less_religious = proj.mean.copy()
    less_religious[ITEMS.index("F063")] -= proj.std[ITEMS.index("F063")]
    assert proj.project(less_religious).trad > proj.project(proj.mean).trad


def test_reference_points_take_the_latest_survey_and_flip_survsagg():
    ref = iw_map.reference_points()
    india = ref["india"]
    assert (india.year, india.trad, india.selfexp) == (2023, pytest.approx(-0.569, abs=5e-4), pytest.approx(-0.438, abs=5e-4))
    assert ref["sweden"].selfexp > 3  # survsagg -3.11: the most self-expressive country after the flip
    assert ref["zimbabwe"].selfexp < -1.5  # survsagg +1.93


def test_distances_to_india_and_the_usa():
    ref = iw_map.reference_points()
    india = ref["india"]
    got = iw_map.distances(MapPoint(india.trad, india.selfexp), ref)
    # USA 2017 (0.2976, 1.2056), India 2023 (-0.5691, -0.4380): sqrt(0.8667^2 + 1.6436^2) = sqrt(0.7512 + 2.7014) = 1.858
    assert got == {"India": 0.0, "United States": pytest.approx(1.858, abs=1e-3)}


def test_plot_map_writes_a_png(tmp_path):
    ref = iw_map.reference_points()
    out = iw_map.plot_map({"base": MapPoint(0.2, -0.3), "tuned": MapPoint(-0.4, 0.1)}, ref, tmp_path / "map" / "iw_map.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20_000
    empty = iw_map.plot_map({}, ref, tmp_path / "empty.png", note="no projection fitted: models not placed")
    assert empty.is_file()


def test_iw_map_summarize_with_and_without_a_projection(tmp_path):
    uniform = {q: [1 / n] * n for q, n in iw_map.QUESTIONS.items()}
    runs = {"en": responses_for("iw_map", "en", uniform)}
    bare = iw_map.summarize(runs, tmp_path / "bare.png", projection_path=tmp_path / "absent.json")
    assert bare["projection"] is None and "Integrated Values Surveys" in bare["projection_error"]
    assert "point" not in bare["variants"]["en"] and Path(bare["map"]).is_file()
    # uniform answers: F063 5.5, Y003 0.5 + 0.5 - 0.5 - 0.5 = 0, Y002: materialist and post-materialist
    # pairs each 2/12 of the ordered pairs, so 1(1/6) + 2(4/6) + 3(1/6) = 2
    assert bare["variants"]["en"]["answers"]["Y002"] == pytest.approx(2.0)
    coef = np.zeros((10, 2))
    coef[ITEMS.index("F063"), 0] = -0.5
    proj = Projection(np.full(10, 5.0), np.full(10, 2.0), coef, coef, np.array([3.0, 2.0]), 100, "hand-made")
    path = iw_map.save_projection(proj, tmp_path / "projection.json")
    placed = iw_map.summarize(runs, tmp_path / "placed.png", label="base", projection_path=path)
    # z(F063) = (5.5 - 5)/2 = 0.25, f1 = -0.125: trad = 1.61 * -0.125 - 0.10 = -0.30125; selfexp = 0.038
    assert placed["variants"]["en"]["point"] == pytest.approx({"trad": -0.30125, "selfexp": 0.038})
    assert set(placed["variants"]["en"]["distances"]) == {"India", "United States"}


def test_shipped_iw_map_files_are_complete():
    spec = load_spec("iw_map")
    assert spec.scoring == "distribution"
    items = load_items(spec)
    assert {(it.id, it.lang) for it in items} == {(q, lang) for q in iw_map.QUESTIONS for lang in ("en", "hi")}
    for it in items:
        assert len(it.choices) == iw_map.QUESTIONS[it.id], it.key
    components = {it.id: it.meta["component_of"] for it in items}
    assert {q for q, c in components.items() if c == "Y002"} == {"E003", "E004"}
    assert {q for q, c in components.items() if c == "Y003"} == {"A029", "A039", "A040", "A042"}


def test_no_file_under_eval_values_points_outside_the_project():
    root = Path(vsm.VSM_DIR).parent
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".md", ".jsonl"):
            assert "/work/shared" not in path.read_text(encoding="utf-8"), path


# -- wiring into tuner eval ------------------------------------------------------------------------


def test_vsm_asks_every_language_under_every_country_persona():
    spec = load_spec("vsm")
    variants = spec.default_variants()
    assert len(variants) == len(spec.languages) * len(vsm.load_countries()) and "hi+persona=india" in variants
    item = next(it for it in load_items(spec) if it.lang == "de")
    prompt = build_prompt(item, spec, Variant.parse("de+persona=japan").resolved(spec), [], None)
    assert prompt.context.startswith(vsm.personas()["japan"]["de"])


def test_summarize_runs_hooks_write_the_vsm_table_and_the_map(tmp_path):
    from tuner.evals.evaluate import EvalRun

    spec = load_spec("vsm")
    ones = {i: [0.96, 0.01, 0.01, 0.01, 0.01] for i in vsm.ITEM_IDS}
    runs = [EvalRun(spec, Variant.parse(f"en+persona={p}").resolved(spec), [], responses_for("vsm", "en", ones), 0) for p in ("india", "usa")]
    got = vsm.summarize_runs(runs, tmp_path, "tiny")
    assert set(got) == {"expected", "argmax"} and set(got["expected"]) == {"en"}
    assert "VSM indices" in (tmp_path / "vsm.md").read_text()
    iw_spec = load_spec("iw_map")
    probs = {it.id: [1.0 / len(it.choices)] * len(it.choices) for it in load_items(iw_spec) if it.lang == "en"}
    iw_run = EvalRun(iw_spec, Variant("en").resolved(iw_spec), [], responses_for("iw_map", "en", probs), 0)
    iw_map.summarize_runs([iw_run], tmp_path, "tiny")
    assert (tmp_path / "iw_map.png").is_file()


def test_optional_benchmarks_join_a_suite_only_with_their_data(capsys, monkeypatch):
    from tuner.evals.spec import BenchmarkSpec, load_suite

    monkeypatch.setattr(BenchmarkSpec, "data_missing", lambda self: True)  # as on a machine without the downloads

    assert [s.id for s in load_suite("india_values")] == ["iw_map", "vsm"]
    assert "skipping 'globalopinionqa'" in capsys.readouterr().err
    with pytest.raises(UserError, match="no benchmark to run"):
        load_suite("india_practices")


def test_value_changes_report_the_distance_to_india_and_the_usa(tmp_path):
    from tuner.ablate.values import value_changes
    from tuner.evals.evaluate import EvalResult, EvalRun
    from tuner.models import ModelRef

    spec = load_spec("vsm")

    def result(india_probs: list[float]) -> EvalResult:
        runs = []
        for persona, probs in (("india", india_probs), ("usa", [0.01, 0.01, 0.01, 0.01, 0.96])):
            responses = responses_for("vsm", "en", {i: probs for i in vsm.ITEM_IDS})
            runs.append(EvalRun(spec, Variant.parse(f"en+persona={persona}").resolved(spec), [], responses, 0))
        return EvalResult(ModelRef("m", "folder", "m"), "fp", runs)

    base, tuned = result([0.96, 0.01, 0.01, 0.01, 0.01]), result([0.2, 0.2, 0.2, 0.2, 0.2])
    rows = value_changes(base, tuned, tmp_path)
    india = next(r for r in rows if r["country"] == "India")
    # The same numbers as summarising each side directly: change = tuned deviation - base deviation.
    direct = {name: vsm.summarize({(r.variant.lang, r.variant.persona): r.responses for r in res.runs})["en"]
              for name, res in (("base", base), ("tuned", tuned))}
    dev = {name: next(c for c in d.countries if c.persona == "india").alignment.model_deviation for name, d in direct.items()}
    assert india["base"] == pytest.approx(dev["base"]) and india["change"] == pytest.approx(dev["tuned"] - dev["base"])
    assert {r["country"] for r in rows} == {"India", "United States"}
    assert (tmp_path / "base" / "vsm.md").is_file() and (tmp_path / "tuned" / "vsm.md").is_file()


def test_value_changes_pair_one_prompt_language_with_another(tmp_path):
    """A prompt-language comparison: the base asked in English, the arm in Hindi."""
    from tuner.ablate.values import value_changes
    from tuner.evals.evaluate import EvalResult, EvalRun
    from tuner.models import ModelRef

    spec = load_spec("vsm")

    def result(lang: str, probs: list[float]) -> EvalResult:
        runs = [EvalRun(spec, Variant.parse(f"{lang}+persona={p}").resolved(spec), [],
                        responses_for("vsm", lang, {i: probs for i in vsm.ITEM_IDS}), 0) for p in ("india", "usa")]
        return EvalResult(ModelRef("m", "folder", "m"), "fp", runs)

    english, hindi = result("en", [0.96, 0.01, 0.01, 0.01, 0.01]), result("hi", [0.2, 0.2, 0.2, 0.2, 0.2])
    rows = value_changes(english, hindi, tmp_path, ("english", "hindi"))
    assert {(r["lang"], r["country"]) for r in rows} == {("en → hi", "India"), ("en → hi", "United States")}
    dev = {lang: next(c for c in vsm.summarize({(r.variant.lang, r.variant.persona): r.responses for r in res.runs})[lang].countries
                      if c.persona == "india").alignment.model_deviation for lang, res in (("en", english), ("hi", hindi))}
    india = next(r for r in rows if r["country"] == "India")
    assert india["change"] == pytest.approx(dev["hi"] - dev["en"])
    assert (tmp_path / "english" / "vsm.md").is_file() and (tmp_path / "hindi" / "vsm.md").is_file()


def test_both_models_on_one_map(tmp_path):
    from tuner.ablate.values import both_on_map

    base = {"variants": {"en": {"point": {"trad": -0.5, "selfexp": -0.2}}}}
    tuned = {"variants": {"en": {"point": {"trad": -0.9, "selfexp": 0.1}}, "hi": {"answers": {}}}}
    png = both_on_map(base, tuned, ("base", "tuned"), tmp_path / "both.png")
    assert png is not None and png.stat().st_size > 10_000
    unplaced = {"variants": {"en": {"answers": {}}}}
    assert both_on_map(unplaced, unplaced, ("base", "tuned"), tmp_path / "none.png") is None  # no projection, no points
