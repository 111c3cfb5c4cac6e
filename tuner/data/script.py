"""Keep a from-scratch English base free of other scripts, so a later language starts from zero.

A letter is any character of Unicode category L*; it is Latin when its Unicode name starts with
"LATIN" (so é, ß, ø count as Latin). Digits, punctuation, whitespace and combining marks are not
letters and are ignored. Fullwidth Latin (Ａ) and modifier letters (ʼ) have other names and count
as non-Latin.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from tuner.errors import UserError


@dataclass
class ScriptReport:
    kept: list[str]
    n_docs: int
    n_dropped: int
    n_docs_with_non_latin: int
    n_non_latin_chars: int  # letters only, summed over all documents (dropped ones included)


def non_latin_letters(text: str) -> int:
    """How many letters of `text` are not Latin."""
    return sum(
        1 for ch in text if unicodedata.category(ch).startswith("L") and not unicodedata.name(ch, "").startswith("LATIN")
    )


def filter_script(docs: list[str], action: Literal["drop", "report"]) -> ScriptReport:
    """drop: remove every document with a non-Latin letter; report: keep all, only count them."""
    if action not in ("drop", "report"):
        raise UserError(f"script filter action {action!r}: expected 'drop' or 'report'")
    counts = [non_latin_letters(doc) for doc in docs]
    kept = [doc for doc, n in zip(docs, counts, strict=True) if n == 0] if action == "drop" else list(docs)
    return ScriptReport(
        kept=kept,
        n_docs=len(docs),
        n_dropped=len(docs) - len(kept),
        n_docs_with_non_latin=sum(n > 0 for n in counts),
        n_non_latin_chars=sum(counts),
    )
