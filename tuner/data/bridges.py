"""Continued-pretraining corpora with and without translation bridges, over exactly the same text.

With bridges, each English-target pair is one document, `en + separator + tgt`, so both sides share
a context window. Without bridges, each side is its own document and the two are never adjacent
after shuffling, so no packed window joins them by position either.

The separator is meant to be the tokenizer's EOS token text. Text tokenisation (`text_windows`)
appends EOS to every document and cuts the EOS text into the EOS id, so a pair document becomes
tok(en) + [eos] + tok(tgt) + [eos] and the two separate documents tok(en) + [eos] and
tok(tgt) + [eos]: both corpora hold the same token multiset and differ only in what sits together.
`check_same_tokens` verifies this for a given tokenizer (a separator that is not a special token,
or a tokenizer that adds BOS, breaks it).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tuner.data.tokenize import text_windows
from tuner.errors import UserError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


@dataclass
class BridgeCorpora:
    with_bridges: list[str]
    without_bridges: list[str]


# A document of the without-bridges list: its text and the pair it came from (None: monolingual).
_Doc = tuple[str, int | None]


def _joined(docs: list[_Doc], i: int, j: int) -> bool:
    """True when positions i and j hold the two sides of one pair (out-of-range positions never do)."""
    if min(i, j) < 0 or max(i, j) >= len(docs):
        return False
    return docs[i][1] is not None and docs[i][1] == docs[j][1]


def _touches_partner(docs: list[_Doc], k: int) -> bool:
    return _joined(docs, k - 1, k) or _joined(docs, k, k + 1)


def _separate_pairs(docs: list[_Doc]) -> None:
    """Swap documents in place until no pair's sides are adjacent.

    Scanning left to right, the second side of an adjacent pair goes to the earliest position where
    neither it nor the document it displaces lands beside its partner: every swap removes one
    adjacency and adds none, so one pass suffices and the result depends only on the shuffled order.
    """
    for i in range(len(docs) - 1):
        if not _joined(docs, i, i + 1):
            continue
        for j in range(len(docs)):
            if j in (i, i + 1):
                continue
            docs[i + 1], docs[j] = docs[j], docs[i + 1]
            if not (_touches_partner(docs, i + 1) or _touches_partner(docs, j)):
                break
            docs[i + 1], docs[j] = docs[j], docs[i + 1]
        else:
            raise UserError(
                "cannot place the sides of every pair apart in the without-bridges corpus; "
                "add monolingual documents or more pairs"
            )


def build_bridge_corpora(monolingual: list[str], pairs: list[tuple[str, str]], separator: str, seed: int) -> BridgeCorpora:
    """Both corpora from the same monolingual documents and (English, target) pairs, each shuffled with `seed`."""
    for n, (en, tgt) in enumerate(pairs):
        if not en or not tgt:
            raise UserError(f"pair {n} has an empty side; drop it or fill it in")
    with_bridges = [*monolingual, *(en + separator + tgt for en, tgt in pairs)]
    random.Random(seed).shuffle(with_bridges)

    without: list[_Doc] = [(doc, None) for doc in monolingual]
    for n, (en, tgt) in enumerate(pairs):
        without += [(en, n), (tgt, n)]
    random.Random(seed).shuffle(without)
    _separate_pairs(without)
    return BridgeCorpora(with_bridges, [doc for doc, _ in without])


def token_multiset(docs: list[str], tokenizer: PreTrainedTokenizerBase, max_length: int) -> Counter[int]:
    """How often each token id occurs when every document is tokenised as training text."""
    counts: Counter[int] = Counter()
    for doc in docs:
        for window in text_windows(doc, tokenizer, max_length):
            counts.update(window)
    return counts


def check_same_tokens(corpora: BridgeCorpora, tokenizer: PreTrainedTokenizerBase, max_length: int) -> None:
    """Refuse corpora whose token multisets differ, naming the lowest token id whose counts differ."""
    with_counts = token_multiset(corpora.with_bridges, tokenizer, max_length)
    without_counts = token_multiset(corpora.without_bridges, tokenizer, max_length)
    if with_counts == without_counts:
        return
    token = min(t for t in with_counts.keys() | without_counts.keys() if with_counts[t] != without_counts[t])
    raise UserError(
        f"the corpora with and without bridges tokenise differently: token {token} "
        f"({tokenizer.convert_ids_to_tokens(token)!r}) occurs {with_counts[token]} times with bridges and "
        f"{without_counts[token]} without; use the tokenizer's EOS text ({tokenizer.eos_token!r}) as the "
        "separator and a tokenizer that adds no BOS"
    )


def write_bridge_corpora(corpora: BridgeCorpora, out_dir: Path) -> tuple[Path, Path]:
    """`with_bridges.jsonl` and `without_bridges.jsonl` in `out_dir`, one `{"text": ...}` per line."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "with_bridges.jsonl", out_dir / "without_bridges.jsonl"
    for path, docs in zip(paths, (corpora.with_bridges, corpora.without_bridges), strict=True):
        path.write_text("".join(json.dumps({"text": doc}, ensure_ascii=False) + "\n" for doc in docs), encoding="utf-8")
    return paths
