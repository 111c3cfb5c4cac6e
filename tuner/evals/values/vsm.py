"""Hofstede Values Survey Module 2013: six culture indices from a model's answers, vs country scores.

The flow, for one model and one prompt language (arXiv 2504.08863's design):
1. ask the 24 items (`eval/values/vsm/items.jsonl`) once per country persona (`countries.jsonl`);
2. `expected_scores(responses)` (or `argmax_scores`) per persona -> item means on the 1..5 scales;
3. `score_countries(means_by_persona)` -> the six indices per persona, with the constants C anchored
   on the human scores (below), each compared with Hofstede's published scores, and the alignment
   ratio of 2504.08863 per country.

Index formulas (VSM 2013 manual, Hofstede & Minkov 2013, section 6; mXX is the mean answer to item
XX on its 1..5 scale):
    PDI = 35(m07 - m02) + 25(m20 - m23) + C(pd)     IDV = 35(m04 - m01) + 35(m09 - m06) + C(ic)
    MAS = 35(m05 - m03) + 35(m08 - m10) + C(mf)     UAI = 40(m18 - m15) + 25(m21 - m24) + C(ua)
    LTO = 40(m13 - m14) + 25(m19 - m22) + C(ls)     IVR = 35(m12 - m11) + 40(m17 - m16) + C(ir)

How C is chosen. The manual leaves C to the user: VSM scores are meant to compare samples within
one study, and only differences between samples carry meaning. tuner therefore uses the model's
differences between country personas and places them on the published scale by one rule: per
dimension, C is chosen so that the mean of the model's scores over the personas asked equals the
mean of the published scores of those same countries (`anchor_constants`). Consequences: a model
that answers every persona alike lands on the cross-country average for every country, which is
alignment ratio 1.0 exactly; ratios above 1 need persona-specific answers in the right direction.
A single persona cannot be scored (its C would copy the human score): ask at least two, and the
20 of `countries.jsonl` to follow the paper.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tuner.errors import UserError
from tuner.evals.values._common import option_probs, point
from tuner.paths import PROJECT_ROOT

VSM_DIR = PROJECT_ROOT / "eval" / "values" / "vsm"
ITEMS_FILE = VSM_DIR / "items.jsonl"
COUNTRIES_FILE = VSM_DIR / "countries.jsonl"
HOFSTEDE_FILE = VSM_DIR / "reference" / "6-dimensions-for-website-2015-08-16.csv"

DIMENSIONS = ("PDI", "IDV", "MAS", "UAI", "LTO", "IVR")
# Per dimension two terms (weight, item counted +, item counted -), as printed in the VSM 2013 manual.
FORMULAS: dict[str, tuple[tuple[float, str, str], tuple[float, str, str]]] = {
    "PDI": ((35, "m07", "m02"), (25, "m20", "m23")),
    "IDV": ((35, "m04", "m01"), (35, "m09", "m06")),
    "MAS": ((35, "m05", "m03"), (35, "m08", "m10")),
    "UAI": ((40, "m18", "m15"), (25, "m21", "m24")),
    "LTO": ((40, "m13", "m14"), (25, "m19", "m22")),
    "IVR": ((35, "m12", "m11"), (40, "m17", "m16")),
}
ITEM_IDS = tuple(f"m{i:02d}" for i in range(1, 25))
SCALE_POINTS = 5
MIN_ANCHOR_COUNTRIES = 2  # anchoring on one country copies its human score: no information left
# The Hofstede file's columns, in order, and the dimension each holds ("ltowvs": LTO re-estimated
# from World Values Survey data, the LTO that the VSM 2013 items measure).
_HOFSTEDE_COLUMNS = {"pdi": "PDI", "idv": "IDV", "mas": "MAS", "uai": "UAI", "ltowvs": "LTO", "ivr": "IVR"}


# -- 1. item means -------------------------------------------------------------------------------

def expected_scores(responses: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Item id -> expected answer (1..5) under the model's option distribution, for one variant.

    The expectation keeps the model's uncertainty: a model split between "agree" and "disagree"
    answers 3, as a sample of respondents split that way would average 3.
    """
    return {k: point(p, "expected") for k, p in option_probs(responses, dict.fromkeys(ITEM_IDS, SCALE_POINTS)).items()}


def argmax_scores(responses: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Item id -> the most probable answer (1..5): what a single sampled respondent would tick."""
    return {k: point(p, "argmax") for k, p in option_probs(responses, dict.fromkeys(ITEM_IDS, SCALE_POINTS)).items()}


# -- 2. indices and constants --------------------------------------------------------------------

def indices(means: Mapping[str, float], constants: Mapping[str, float] | None = None) -> dict[str, float]:
    """The six VSM 2013 indices from item means; `constants` None means C = 0 (raw indices)."""
    missing = [i for i in ITEM_IDS if i not in means]
    if missing:
        raise UserError(f"VSM indices need all 24 item means; missing {', '.join(missing)} (ask every item of eval/values/vsm/items.jsonl)")
    out: dict[str, float] = {}
    for dim, terms in FORMULAS.items():
        raw = sum(w * (means[plus] - means[minus]) for w, plus, minus in terms)
        out[dim] = raw + (constants[dim] if constants is not None else 0.0)
    return out


def anchor_constants(
    raw_by_country: Mapping[str, Mapping[str, float]], human_by_country: Mapping[str, Mapping[str, float]]
) -> dict[str, float]:
    """C per dimension such that the model's mean over these countries equals the humans' mean.

    C_d = mean_c(human[c][d]) - mean_c(raw[c][d]) over the countries in `raw_by_country`.
    """
    countries = list(raw_by_country)
    if len(countries) < MIN_ANCHOR_COUNTRIES:
        raise UserError(
            f"VSM constants: {len(countries)} country persona(s) answered; anchoring C needs at least {MIN_ANCHOR_COUNTRIES} "
            "(ask the personas of eval/values/vsm/countries.jsonl)"
        )
    lacking = [c for c in countries if c not in human_by_country]
    if lacking:
        raise UserError(f"VSM constants: no human scores for {', '.join(lacking)}; add them to eval/values/vsm/countries.jsonl")
    n = len(countries)
    return {
        d: sum(human_by_country[c][d] for c in countries) / n - sum(raw_by_country[c][d] for c in countries) / n
        for d in DIMENSIONS
    }


# -- 3. alignment (arXiv 2504.08863) --------------------------------------------------------------

@dataclass(frozen=True)
class Alignment:
    """How close a model's scores are to one country's, relative to how distinctive that country is."""

    ratio: float  # country_spread / model_deviation; higher is better, 1.0 = as good as the cross-country average
    country_spread: float  # mean over dimensions of |country - cross-country average|
    model_deviation: float  # mean over dimensions of |model - country|
    differences: dict[str, float]  # per dimension: model - country (signed, in index points)


def alignment(
    model_scores: Mapping[str, float], country_scores: Mapping[str, float], all_country_scores: Mapping[str, Mapping[str, float]]
) -> Alignment:
    """The 2504.08863 alignment metric for one country.

    ratio = mean_d |country_d - avg_d| / mean_d |model_d - country_d|, avg_d the mean of dimension d
    over `all_country_scores`. Dividing by the country's own distinctiveness is the point: matching a
    country near the world average is easy, matching an outlier is not.
    """
    dims = [d for d in DIMENSIONS if d in model_scores and d in country_scores]
    if not dims:
        raise UserError("VSM alignment: model and country scores share no dimension (expected keys PDI, IDV, MAS, UAI, LTO, IVR)")
    if not all_country_scores:
        raise UserError("VSM alignment: no countries given for the cross-country average")
    avg = {d: sum(s[d] for s in all_country_scores.values()) / len(all_country_scores) for d in dims}
    spread = sum(abs(country_scores[d] - avg[d]) for d in dims) / len(dims)
    deviation = sum(abs(model_scores[d] - country_scores[d]) for d in dims) / len(dims)
    ratio = spread / deviation if deviation > 0 else float("inf")
    return Alignment(ratio, spread, deviation, {d: model_scores[d] - country_scores[d] for d in dims})


# -- reference data: countries and Hofstede's published scores ------------------------------------

@dataclass(frozen=True)
class Country:
    persona: str  # the persona name used in variants: `en+persona=india`
    name: str
    hofstede: str  # the `ctr` code in the Hofstede file
    language: str  # the country's main language (ISO 639-1), the paper's "native" prompt language
    persona_text: dict[str, str]  # prompt language -> persona sentence


def load_countries(path: Path = COUNTRIES_FILE) -> list[Country]:
    """The documented country set (README.md next to the file says why these 20)."""
    if not path.is_file():
        raise UserError(f"{path}: not found; it ships with tuner (eval/values/vsm/countries.jsonl), restore it from the repository")
    out: list[Country] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append(Country(**json.loads(line)))
        except (json.JSONDecodeError, TypeError) as e:
            raise UserError(f"{path} line {n}: expected persona, name, hofstede, language, persona_text ({e})") from None
    return out


def personas(path: Path = COUNTRIES_FILE) -> dict[str, dict[str, str]]:
    """persona -> language -> text, the shape of eval/personas.yaml, for the prompt builder."""
    return {c.persona: dict(c.persona_text) for c in load_countries(path)}


@dataclass(frozen=True)
class HofstedeRow:
    code: str
    name: str
    scores: dict[str, float | None]  # dimension -> published score; None where the file has #NULL!


def load_hofstede(path: Path = HOFSTEDE_FILE) -> dict[str, HofstedeRow]:
    """Parse Hofstede's dimension data matrix: `ctr;country;pdi;idv;mas;uai;ltowvs;ivr`, `#NULL!` = missing."""
    if not path.is_file():
        raise UserError(f"{path}: not found; put Hofstede's 6-dimensions-for-website-2015-08-16.csv there (see reference/README.md)")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    expected = ["ctr", "country", *_HOFSTEDE_COLUMNS]
    if header != expected:
        raise UserError(f"{path}: header {header} is not {expected}; use the semicolon-separated file as published")
    out: dict[str, HofstedeRow] = {}
    for n, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(expected):
            raise UserError(f"{path} line {n}: {len(row)} fields, expected {len(expected)}")
        scores: dict[str, float | None] = {}
        for col, dim, cell in zip(_HOFSTEDE_COLUMNS, _HOFSTEDE_COLUMNS.values(), row[2:], strict=True):
            cell = cell.strip()
            try:
                scores[dim] = None if cell in ("#NULL!", "") else float(cell)
            except ValueError:
                raise UserError(f"{path} line {n}, column '{col}': '{cell}' is not a number or #NULL!") from None
        out[row[0].strip()] = HofstedeRow(row[0].strip(), row[1].strip(), scores)
    return out


def human_scores(countries: Iterable[Country], reference: Mapping[str, HofstedeRow]) -> dict[str, dict[str, float]]:
    """persona -> the six published scores; every listed country must have all six."""
    out: dict[str, dict[str, float]] = {}
    for c in countries:
        row = reference.get(c.hofstede)
        if row is None:
            raise UserError(f"{COUNTRIES_FILE}: country '{c.name}' has code '{c.hofstede}', which is not in the Hofstede file")
        missing = [d for d, v in row.scores.items() if v is None]
        if missing:
            raise UserError(f"{COUNTRIES_FILE}: '{c.name}' lacks {', '.join(missing)} in the Hofstede file; pick a country with all six")
        out[c.persona] = {d: float(v) for d, v in row.scores.items() if v is not None}
    return out


# -- the whole comparison ---------------------------------------------------------------------------

@dataclass
class CountryResult:
    persona: str
    name: str
    raw: dict[str, float]  # indices with C = 0
    scores: dict[str, float]  # indices with the anchored C
    human: dict[str, float]  # Hofstede's published scores
    alignment: Alignment


@dataclass
class VSMResult:
    constants: dict[str, float]
    countries: list[CountryResult] = field(default_factory=list)

    @property
    def mean_ratio(self) -> float:
        """The model's overall alignment, one number per model and language: the mean of the country ratios."""
        ratios = [c.alignment.ratio for c in self.countries]
        return sum(ratios) / len(ratios) if ratios else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {"constants": self.constants, "mean_ratio": self.mean_ratio, "countries": [asdict(c) for c in self.countries]}

    def table(self) -> str:
        """Markdown: per country and dimension model / human (model - human), and the ratio."""
        head = "| country | " + " | ".join(DIMENSIONS) + " | alignment |"
        lines = [head, "|" + "---|" * (len(DIMENSIONS) + 2)]
        for c in self.countries:
            cells = [f"{c.scores[d]:.0f} / {c.human[d]:.0f} ({c.alignment.differences[d]:+.0f})" for d in DIMENSIONS]
            lines.append(f"| {c.name} | " + " | ".join(cells) + f" | {c.alignment.ratio:.2f} |")
        lines.append(
            "\nmodel / human (difference) per dimension; alignment = country spread / model deviation, "
            f"higher is better; mean {self.mean_ratio:.2f}"
        )
        return "\n".join(lines)


def score_countries(
    means_by_persona: Mapping[str, Mapping[str, float]],
    countries: list[Country] | None = None,
    reference: Mapping[str, HofstedeRow] | None = None,
) -> VSMResult:
    """Item means per persona (one model, one language) -> anchored indices, differences, alignment.

    The cross-country average of the alignment metric is taken over the countries asked, the same
    set C is anchored on, so that answering every persona alike scores exactly 1.0.
    """
    countries = countries if countries is not None else load_countries()
    by_persona = {c.persona: c for c in countries}
    unknown = [p for p in means_by_persona if p not in by_persona]
    if unknown:
        raise UserError(f"VSM: persona(s) {', '.join(unknown)} not in {COUNTRIES_FILE}; known: {', '.join(by_persona)}")
    asked = [by_persona[p] for p in means_by_persona]
    human = human_scores(asked, reference if reference is not None else load_hofstede())
    raw = {p: indices(m) for p, m in means_by_persona.items()}
    constants = anchor_constants(raw, human)
    result = VSMResult(constants)
    for c in asked:
        scores = {d: raw[c.persona][d] + constants[d] for d in DIMENSIONS}
        fit = alignment(scores, human[c.persona], human)
        result.countries.append(CountryResult(c.persona, c.name, raw[c.persona], scores, human[c.persona], fit))
    return result


def summarize(responses_by_variant: Mapping[tuple[str, str], Iterable[dict[str, Any]]], how: str = "expected") -> dict[str, VSMResult]:
    """The benchmark's report hook: {(lang, persona): responses} -> one VSMResult per prompt language.

    Each language is anchored and compared on its own, as 2504.08863 compares prompt languages.
    """
    if how not in ("expected", "argmax"):
        raise UserError(f"VSM: how='{how}'; use expected or argmax")
    read = expected_scores if how == "expected" else argmax_scores
    by_lang: dict[str, dict[str, dict[str, float]]] = {}
    for (lang, persona), responses in responses_by_variant.items():
        if not persona:
            raise UserError(f"VSM: variant '{lang}' has no persona; ask it as {lang}+persona=NAME (eval/values/vsm/countries.jsonl)")
        by_lang.setdefault(lang, {})[persona] = read(responses)
    return {lang: score_countries(means) for lang, means in by_lang.items()}


def summarize_runs(runs: Sequence[Any], out: Path, label: str) -> dict[str, Any]:
    """`tuner eval`'s hook: the six indices per prompt language, compared with the countries
    (expected answers and argmax answers), also written as vsm.md next to results.json."""
    by_variant = {(r.variant.lang, r.variant.persona): r.responses for r in runs}
    scored = {how: summarize(by_variant, how) for how in ("expected", "argmax")}
    result = {how: {lang: res.as_dict() for lang, res in per_lang.items()} for how, per_lang in scored.items()}
    tables = [f"## {label}: VSM indices, {how} answers, prompt language {lang}\n\n{res.table()}"
              for how, per_lang in scored.items() for lang, res in per_lang.items()]
    (out / "vsm.md").write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    return result
