"""Cultural density: the share of a corpus's documents that hold the knowledge an item asks about.

The rule, simple on purpose: a document holds an item's knowledge when it contains both the item's
key entity and its answer as whole words, case-insensitive. Words are maximal runs of Unicode `\\w`,
so the rule reads Latin and Georgian script alike; a multi-word term matches its words in order,
separated only by non-word characters ("New Delhi", "new-delhi"). "Vel" never matches "Veloria".
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

_WORD = re.compile(r"\w+")


class DocumentIndex:
    """Documents indexed by word: a term's documents are a set intersection, not a scan of every text."""

    def __init__(self, docs: list[str]) -> None:
        self.docs = [d.casefold() for d in docs]
        self._postings: dict[str, set[int]] = defaultdict(set)
        for i, doc in enumerate(self.docs):
            for word in set(_WORD.findall(doc)):
                self._postings[word].add(i)
        self._cache: dict[str, frozenset[int]] = {}

    def matching(self, term: str) -> frozenset[int]:
        """Indices of the documents that contain `term` as whole words."""
        if term not in self._cache:
            words = _WORD.findall(term.casefold())
            if not words:
                raise ValueError(f"term {term!r} has no word characters to match")
            hits = set.intersection(*(self._postings.get(w, set()) for w in words))
            if len(words) > 1:  # every word is present; check they stand together, in order
                together = re.compile(r"(?<!\w)" + r"\W+".join(map(re.escape, words)) + r"(?!\w)")
                hits = {i for i in hits if together.search(self.docs[i])}
            self._cache[term] = frozenset(hits)
        return self._cache[term]

    def count(self, entity: str, answer: str) -> int:
        return len(self.matching(entity) & self.matching(answer))


def count_documents(docs: list[str], entity: str, answer: str) -> int:
    """Documents that contain both `entity` and `answer` as whole words."""
    return DocumentIndex(docs).count(entity, answer)


def density(docs: list[str], entity: str, answer: str) -> float:
    """`count_documents` per document of the corpus."""
    if not docs:
        raise ValueError("density of an empty corpus is undefined; give at least one document")
    return count_documents(docs, entity, answer) / len(docs)


@dataclass(frozen=True)
class DensityRow:
    culture: str
    corpus: str
    n_items: int
    mean_density: float
    min_density: float
    max_density: float
    mean_docs: float  # documents holding an item's knowledge, averaged over the culture's items


def density_table(corpora: dict[str, list[str]], items: dict[str, list[dict]]) -> list[DensityRow]:
    """One row per (culture, corpus); `items` maps a culture to its key terms ({"entity", "answer"}).

    Key terms are in one language: for per-language keys, call once per corpus and join the rows.
    """
    for name, docs in corpora.items():
        if not docs:
            raise ValueError(f"corpus '{name}' has no documents")
    for culture, keys in items.items():
        if not keys:
            raise ValueError(f"culture '{culture}' has no items")
    rows = []
    for name, docs in corpora.items():
        index = DocumentIndex(docs)
        for culture, keys in items.items():
            counts = [index.count(k["entity"], k["answer"]) for k in keys]
            densities = [c / len(docs) for c in counts]
            rows.append(DensityRow(
                culture, name, len(keys), sum(densities) / len(keys), min(densities), max(densities),
                sum(counts) / len(keys),
            ))
    return rows


def format_density_table(rows: list[DensityRow]) -> str:
    """A markdown table, one line per row."""
    lines = [
        "| culture | corpus | items | mean density | min | max | docs/item |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.culture} | {r.corpus} | {r.n_items} | {r.mean_density:.4f} | {r.min_density:.4f} "
        f"| {r.max_density:.4f} | {r.mean_docs:.1f} |"
        for r in rows
    ]
    return "\n".join(lines)
