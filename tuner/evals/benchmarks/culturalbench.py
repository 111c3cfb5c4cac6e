"""CulturalBench (Chiu et al. 2024, arXiv 2410.02677; hub `kellycyy/CulturalBench`).

Questions on everyday culture in 45 regions, written and verified by people from those regions, in
two configs with the same questions:

- `CulturalBench-Easy`: one row per question, four options `prompt_option_a..d`, `answer` a letter.
- `CulturalBench-Hard`: one row per (question, option), `answer` a bool saying whether that option
  is right. The model judges each row true or false, and a question counts as right only if all of
  its rows are judged right: a model that guesses passes a question with chance 0.5^4 = 6%, not 25%,
  and one that merely prefers "True" fails every question.

    rows = read_rows(spec)[0]
    items = hard_items(rows, "CulturalBench-Hard.csv")   # one 2-choice Item per row
    ... score them (mc_loglik or mc_letter) ...
    hard_accuracy(responses)                               # question-level, per country, India

Hard item ids are `{question_idx}/{data_idx}`, so the question of a stored Response is recoverable
from the Response alone (`question_of`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from tuner.errors import UserError
from tuner.evals.benchmarks._rows import cell, check_unique, india_entry, truth
from tuner.evals.metrics import accuracy, grouped
from tuner.evals.spec import Item

Subset = Literal["easy", "hard"]
AnswerStyle = Literal["true_false", "yes_no"]

LETTERS = "ABCD"
ROWS_PER_QUESTION = 4  # Hard: one row per option of the 4-option Easy question
# Hard rows as a 2-choice item: the choices and the question that asks for them.
_HARD_STYLE: dict[str, tuple[list[str], str]] = {
    "true_false": (["True", "False"], "Is this answer true or false for this question?"),
    "yes_no": (["Yes", "No"], "Is this answer correct for this question?"),
}


def easy_items(rows: Iterable[Mapping[str, Any]], source_label: str) -> list[Item]:
    """CulturalBench-Easy rows as 4-option Items; `answer` A-D becomes the choice index."""
    items: list[Item] = []
    for n, row in enumerate(rows, start=1):
        where = f"{source_label} row {n}"
        letter = cell(row, "answer", where).upper()
        if len(letter) != 1 or letter not in LETTERS:
            raise UserError(f"{where}: column 'answer' = {letter!r} is not one of A, B, C, D; fix the row or re-download the file")
        items.append(
            Item(
                id=cell(row, "question_idx", where),
                question=cell(row, "prompt_question", where),
                choices=[cell(row, f"prompt_option_{x}", where) for x in "abcd"],
                answer=LETTERS.index(letter),
                country=cell(row, "country", where),
                meta={"subset": "easy"},
            )
        )
    check_unique(items, source_label)
    return items


def hard_items(rows: Iterable[Mapping[str, Any]], source_label: str, answer_style: AnswerStyle = "true_false") -> list[Item]:
    """CulturalBench-Hard rows as 2-choice Items (True/False or Yes/No); choice 0 means "this option is right".

    The rows of one question must agree on its country: per-country accuracy is counted per question.
    """
    if answer_style not in _HARD_STYLE:
        raise UserError(f"answer_style '{answer_style}': use one of {', '.join(_HARD_STYLE)}")
    choices, ask = _HARD_STYLE[answer_style]
    items: list[Item] = []
    country_of: dict[str, tuple[str, int]] = {}
    for n, row in enumerate(rows, start=1):
        where = f"{source_label} row {n}"
        qidx, didx, country = cell(row, "question_idx", where), cell(row, "data_idx", where), cell(row, "country", where)
        first = country_of.setdefault(qidx, (country, n))
        if first[0] != country:
            raise UserError(
                f"{where}: column 'country' = {country!r} but row {first[1]} of question_idx {qidx} says {first[0]!r}; "
                "the rows of one question must name one country"
            )
        option = cell(row, "prompt_option", where)
        items.append(
            Item(
                id=f"{qidx}/{didx}",
                question=f"{cell(row, 'prompt_question', where)}\nAnswer: {option}\n{ask}",
                choices=list(choices),
                answer=0 if truth(row, "answer", where) else 1,
                country=country,
                meta={"subset": "hard", "question_idx": qidx, "data_idx": didx, "option": option},
            )
        )
    check_unique(items, source_label)
    return items


def question_of(response: Mapping[str, Any]) -> str:
    """The question_idx of a Hard response, from its id `{question_idx}/{data_idx}`."""
    return str(response["id"]).rpartition("/")[0]


def easy_accuracy(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy overall and per country (Wilson 95% CIs), India's entry repeated under `india`."""
    rows = [dict(r) for r in responses]
    by_country = {k: v.as_dict() for k, v in grouped(rows, lambda r: r["country"]).items()}
    return {"overall": accuracy(rows).as_dict(), "by_country": by_country, "india": india_entry(by_country)}


def hard_accuracy(responses: Sequence[Mapping[str, Any]], rows_per_question: int = ROWS_PER_QUESTION) -> dict[str, Any]:
    """The published Hard metric: a question is right only if all its rows are right.

    `overall`, `by_country` and `india` count questions; `rows` is the row-level accuracy (each
    true/false judgment alone). A question with other than `rows_per_question` scored rows (a partial
    run, a filtered file) cannot be judged by the all-rows rule: it is left out and counted in
    `incomplete`, never counted right or wrong.
    """
    scored = [dict(r) for r in responses if r.get("correct") is not None]
    questions: dict[str, list[dict[str, Any]]] = {}
    for r in scored:
        questions.setdefault(question_of(r), []).append(r)
    judged = [
        {
            "question_idx": q,
            "country": rs[0]["country"],
            "correct": all(bool(r["correct"]) for r in rs),
            # a question with an unreadable (generate) answer is counted wrong and reported as unparsed
            "pred": None if any(r.get("pred") is None for r in rs) else 0,
        }
        for q, rs in questions.items()
        if len(rs) == rows_per_question
    ]
    by_country = {k: v.as_dict() for k, v in grouped(judged, lambda r: r["country"]).items()}
    return {
        "overall": accuracy(judged).as_dict(),
        "by_country": by_country,
        "india": india_entry(by_country),
        "rows": accuracy(scored).as_dict(),
        "incomplete": len(questions) - len(judged),
    }


def build_items(
    rows: Iterable[Mapping[str, Any]], source_label: str, subset: Subset, answer_style: AnswerStyle = "true_false"
) -> list[Item]:
    """The uniform entry (see the package docstring): `subset` picks the config's schema."""
    if subset == "easy":
        return easy_items(rows, source_label)
    if subset == "hard":
        return hard_items(rows, source_label, answer_style)
    raise UserError(f"CulturalBench subset '{subset}': use easy or hard")


def metrics(responses: Sequence[Mapping[str, Any]], items: Sequence[Item]) -> dict[str, Any]:
    """The published metric of whichever config `items` came from (their meta says which)."""
    subsets = {it.meta.get("subset") for it in items}
    if subsets == {"hard"}:
        return hard_accuracy(responses)
    if subsets <= {"easy"}:
        return easy_accuracy(responses)
    raise ValueError(f"items mix CulturalBench subsets {sorted(map(str, subsets))}; score Easy and Hard separately")
