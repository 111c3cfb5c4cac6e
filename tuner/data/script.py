"""Keep a from-scratch English base free of other scripts, so a later language starts from zero.

A letter is any character of Unicode category L*; it is Latin when its Unicode name starts with
"LATIN" (so é, ß, ø count as Latin). Digits, punctuation, whitespace and combining marks are not
letters and are ignored. Fullwidth Latin (Ａ) and modifier letters (ʼ) have other names and count
as non-Latin.
"""

from __future__ import annotations

import unicodedata


def non_latin_letters(text: str) -> int:
    """How many letters of `text` are not Latin."""
    return sum(
        1 for ch in text if unicodedata.category(ch).startswith("L") and not unicodedata.name(ch, "").startswith("LATIN")
    )
