"""Reading cells of a benchmark's raw rows: every failure names the file, the 1-based row and the column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tuner.errors import UserError
from tuner.evals.spec import Item

INDIA = "India"
USA = "United States"


def cell(row: Mapping[str, Any], column: str, where: str) -> str:
    """The cell as stripped text; missing or empty cells are errors, since every column these
    benchmarks read is filled in the published data (an empty one means a wrong or damaged file)."""
    if column not in row:
        found = ", ".join(map(str, row)) or "none"
        raise UserError(f"{where}: column '{column}' is missing (found: {found}); download the file the spec's get: names")
    value = row[column]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # CSV readers turn an integer column with a gap into floats: 12.0 -> "12"
    text = "" if value is None else str(value).strip()
    if not text or text.lower() == "nan":
        raise UserError(f"{where}: column '{column}' is empty; fill it in or drop the row")
    return text


def truth(row: Mapping[str, Any], column: str, where: str) -> bool:
    """A boolean cell as the hub (bool), a CSV reader (bool or 'True') or a hand edit ('true', 1) gives it."""
    value = row.get(column)
    if isinstance(value, bool):
        return value
    text = cell(row, column, where).lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise UserError(f"{where}: column '{column}' = {text!r} is not a boolean; write True or False")


def check_unique(items: Sequence[Item], source_label: str) -> None:
    """The result store keys answers by item id, so a repeated id would overwrite another item's answer."""
    seen: set[str] = set()
    for item in items:
        if item.key in seen:
            raise UserError(f"{source_label}: item id '{item.id}' appears twice; ids must be unique (is a row duplicated?)")
        seen.add(item.key)


def india_entry(by_country: Mapping[str, Any]) -> Any:
    """India's entry whatever the spelling's case ('India', 'india'); None when India has no rows."""
    return next((v for k, v in by_country.items() if k.casefold() == INDIA.casefold()), None)
