"""NormAd-ETI (Rao et al. 2024, arXiv 2404.12464; hub `akhilayerukola/NormAd`).

Short stories about everyday etiquette in 75 countries; for each, whether the main character's
action is socially acceptable there (`Gold Label`: yes, no or neutral). The paper's point is that
models adapt to a culture only when told its norms explicitly, so each story is asked at several
context levels and the accuracy is read per level:

    none      the story alone
    country   the country's name
    value     the country and the value behind the norm (`Value`)
    rot       the country and the rule of thumb (`Rule-of-Thumb`), the most explicit

One row gives one Item per level asked, id `{ID}/{level}`, category = the level (so the generic
per-category metrics are per level too), country = `Country` at every level, including `none`,
where the prompt does not name it. Choices are Yes / No / Neither, `neutral` mapping to Neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from tuner.errors import UserError
from tuner.evals.benchmarks._rows import cell, check_unique, india_entry
from tuner.evals.metrics import grouped
from tuner.evals.spec import Item

Level = Literal["none", "country", "value", "rot"]
LEVELS: tuple[Level, ...] = get_args(Level)
COLUMNS = ("ID", "Country", "Background", "Axis", "Subaxis", "Value", "Rule-of-Thumb", "Story", "Explanation", "Gold Label")
CHOICES = ["Yes", "No", "Neither"]
_GOLD = {"yes": 0, "no": 1, "neutral": 2}


def render(row: Mapping[str, Any], level: Level, where: str) -> str:
    """The question text of one row at one level: the context lines, the story, the question.

    Only the columns a level shows are read, so `none` never leaks the country into the prompt.
    """
    lines: list[str] = []
    if level != "none":
        country = cell(row, "Country", where)
        lines.append(f"Country: {country}")
        if level == "value":
            lines.append(f"Value: {cell(row, 'Value', where)}")
        elif level == "rot":
            lines.append(f"Rule of thumb: {cell(row, 'Rule-of-Thumb', where)}")
    lines.append(f"Story: {cell(row, 'Story', where)}")
    place = "" if level == "none" else f" in {cell(row, 'Country', where)}"
    lines.append(f"Question: Is the action in the story socially acceptable{place}?")
    return "\n".join(lines)


def items(rows: Iterable[Mapping[str, Any]], source_label: str, level: Level | Sequence[Level] = LEVELS) -> list[Item]:
    """NormAd rows as Items at one level (`"rot"`) or several (default: all four, row by row)."""
    levels: tuple[str, ...] = (level,) if isinstance(level, str) else tuple(level)
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown or not levels:
        raise UserError(f"NormAd level {unknown or levels}: use some of {', '.join(LEVELS)}")
    out: list[Item] = []
    for n, row in enumerate(rows, start=1):
        where = f"{source_label} row {n}"
        gold = cell(row, "Gold Label", where).lower()
        if gold not in _GOLD:
            raise UserError(f"{where}: column 'Gold Label' = {gold!r} is not yes, no or neutral; fix the row or re-download the file")
        row_id, country = cell(row, "ID", where), cell(row, "Country", where)
        # Axis/Subaxis only describe the row (kept for slicing); a gap there does not stop the run.
        meta = {"axis": str(row.get("Axis") or ""), "subaxis": str(row.get("Subaxis") or ""), "gold": gold}
        for lv in levels:
            out.append(
                Item(
                    id=f"{row_id}/{lv}",
                    question=render(row, lv, where),  # type: ignore[arg-type]
                    choices=list(CHOICES),
                    answer=_GOLD[gold],
                    category=lv,
                    country=country,
                    meta={**meta, "level": lv},
                )
            )
    check_unique(out, source_label)
    return out


def accuracy_by(responses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracy per level (`by_level`), per level and country (`by_level_country`), and India's per
    level (`india`). Levels are never pooled: a pooled figure would mix the easy `rot` prompts with
    the hard `none` ones in whatever proportion the run happened to ask."""
    rows = [dict(r) for r in responses]
    by_level = grouped(rows, lambda r: r["category"])
    by_level_country: dict[str, dict[str, Any]] = {}
    for lv in by_level:
        subset = [r for r in rows if r["category"] == lv]
        by_level_country[lv] = {k: v.as_dict() for k, v in grouped(subset, lambda r: r["country"]).items()}
    return {
        "by_level": {k: v.as_dict() for k, v in by_level.items()},
        "by_level_country": by_level_country,
        "india": {lv: india_entry(countries) for lv, countries in by_level_country.items()},
    }


def build_items(rows: Iterable[Mapping[str, Any]], source_label: str, level: Level | Sequence[Level] = LEVELS) -> list[Item]:
    """The uniform entry (see the package docstring)."""
    return items(rows, source_label, level)


def metrics(responses: Sequence[Mapping[str, Any]], items: Sequence[Item]) -> dict[str, Any]:  # noqa: ARG001
    """The uniform entry: the responses carry the level (category) and country themselves."""
    return accuracy_by(responses)
