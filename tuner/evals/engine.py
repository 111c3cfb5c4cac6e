"""The scoring engine: batched, exact, and frugal with forward passes.

mc_loglik processes only the unique tokens of an item. One row holds the question once, then every
choice's continuation (all but its last token) under a block attention mask:

    row:       [ c0 c1 ... c(n-1) | a0 a1 | b0 | d0 d1 d2 ]      (choices a, b, d after context c)
    positions:   0  1 ...   n-1   | n n+1 | n  | n  n+1 n+2
    attends:     causal in c      | c + own segment, causally

The log-prob of a choice's first token is read at the context's last position (shared by all
choices); each later token at the position of the token before it. Only those positions go through
the LM head, never the whole vocabulary for every token. Rows are sorted by length and batched by a
token budget, so padding stays small.

Prompts of one call often open alike (a persona, a chat template's system turn, the same k shots):
rows that share a long run of leading tokens are grouped, the run goes through the model once, and
every row of the group attends to its cached keys and values instead of recomputing them.

Tokenisation at the context/continuation boundary follows lm-eval: trailing spaces of the context
move to the continuation, `context + continuation` is encoded whole, and the continuation is what
follows the context's own encoding.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tuner.errors import UserError
from tuner.evals.prompts import LETTERS, Prompt

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


@dataclass
class Row:
    """One item's tokens: a context and the segments that follow it under the block mask."""

    index: int  # position of the item in the caller's list
    context: list[int]
    targets: list[list[int]]  # continuation tokens to score, per choice (empty for next-token kinds)

    @property
    def segments(self) -> list[list[int]]:
        return [t[:-1] for t in self.targets]

    def __len__(self) -> int:
        return len(self.context) + sum(len(s) for s in self.segments)


@dataclass
class Prefix:
    """Leading tokens shared by a group of rows, run once: per layer, its keys and values."""

    length: int
    layers: list[tuple[torch.Tensor, torch.Tensor]]


def common_length(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def prefix_groups(rows: list[Row], min_saving: int) -> list[tuple[int, list[Row]]]:
    """Rows grouped by a shared leading run of tokens: (run length, rows), with a run of 0 for the rest.

    In lexicographic order, the run shared by consecutive rows is the least common length of
    neighbours, so groups are cut where that falls below a threshold; the threshold that saves the
    most positions wins. A group is kept when it saves at least `min_saving` positions, and each row
    keeps its last context token, whose hidden state predicts the answer.
    """
    order = sorted(rows, key=lambda r: r.context)
    common = [common_length(a.context, b.context) for a, b in zip(order, order[1:], strict=False)]

    def split(threshold: int) -> tuple[list[tuple[int, list[Row]]], list[Row]]:
        groups: list[tuple[int, list[Row]]] = []
        rest: list[Row] = []
        start = 0
        for end in range(1, len(order) + 1):
            if end == len(order) or common[end - 1] < threshold:
                run = order[start:end]
                shared = min([*common[start : end - 1], min(len(r.context) for r in run) - 1])
                if len(run) > 1 and (len(run) - 1) * shared >= min_saving:
                    groups.append((shared, run))
                else:
                    rest.extend(run)
                start = end
        return groups, rest

    def saving(split_: tuple[list[tuple[int, list[Row]]], list[Row]]) -> int:
        return sum((len(run) - 1) * shared for shared, run in split_[0])

    groups, rest = max((split(t) for t in {*common, 1 << 30}), key=saving)
    return groups + ([(0, rest)] if rest else [])


class Scorer:
    """Scores prompts with one model. `forward_calls` counts decoder passes (tests assert on it)."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        # Measured on the 135M model, 2 CPU threads: 256-token packs in 1024-token batches scored
        # 100 questions ~20% faster than 512/2048 (attention cost grows with the pack's square).
        token_budget: int = 1024,
        pack_width: int = 256,
    ) -> None:
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        self.token_budget = token_budget
        self.pack_width = pack_width
        self.forward_calls = 0
        self.positions = 0  # tokens fed through the model (padding excluded), for tokens/s
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.decoder = base.get_decoder()
        self.lm_head = base.get_output_embeddings()
        self.softcap = getattr(base.config, "final_logit_softcapping", None)
        self.device = next(model.parameters()).device
        self.dtype = next(p for p in model.parameters() if p.is_floating_point()).dtype
        # A model trained with BOS expects it first; tokenizers that add it by default tell us so.
        probe = tokenizer("a")["input_ids"]
        self.bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None and probe[:1] == [tokenizer.bos_token_id] else []
        self._torch = torch

    # -- tokenisation ---------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        spaces = len(context) - len(context.rstrip())
        if spaces:
            context, continuation = context[:-spaces], context[-spaces:] + continuation
        context_ids = self.bos + self.encode(context) if context else []
        whole = self.bos + self.encode(context + continuation)
        continuation_ids = whole[len(context_ids):]
        if not context_ids:  # nothing to condition on: start from EOS, as lm-eval does
            context_ids = [self.tokenizer.eos_token_id]
        return context_ids, continuation_ids

    def loglik_row(self, index: int, prompt: Prompt) -> Row:
        pairs = [self.encode_pair(prompt.context, c) for c in prompt.continuations]
        context = pairs[0][0]
        if any(p[0] != context for p in pairs) or any(not p[1] for p in pairs):
            raise UserError(f"item {index}: choices tokenise into the context; check the template's trailing text")
        return Row(index, context, [p[1] for p in pairs])

    def letter_ids(self, prompt: Prompt, n: int) -> tuple[list[int], list[int]]:
        """The context's ids and the single token of each answer letter that would follow it.

        Unlike `encode_pair`, trailing whitespace stays in the context: after a chat template's
        "assistant\n" the answer starts a new line, and the letter alone is the next token.
        """
        if n > len(LETTERS):
            raise UserError(f"an item has {n} options; letter scoring labels at most {len(LETTERS)} (A-{LETTERS[-1]})")
        prefix = "" if prompt.context[-1:].isspace() else " "
        context = self.bos + self.encode(prompt.context)
        ids = []
        for letter in LETTERS[:n]:
            whole = self.bos + self.encode(prompt.context + prefix + letter)
            if len(whole) != len(context) + 1 or whole[: len(context)] != context:
                raise UserError(f"answer letter '{letter}' is not one token after this prompt; use scoring=mc_loglik")
            ids.append(whole[-1])
        return context, ids

    # -- batching -------------------------------------------------------------------------------
    def batches(self, rows: list[Row]) -> Iterator[list[list[Row]]]:
        """Pack rows (items) into sequences of `pack_width` tokens, longest first (first-fit
        decreasing), then group sequences into batches of at most `token_budget` tokens. Packing
        removes padding: the cost of a forward is the number of positions, not of questions."""
        rows = sorted(rows, key=len, reverse=True)
        width = max(self.pack_width, len(rows[0])) if rows else 0
        packs: list[list[Row]] = []
        room: list[int] = []
        for row in rows:
            for i, free in enumerate(room):
                if len(row) <= free:
                    packs[i].append(row)
                    room[i] -= len(row)
                    break
            else:
                packs.append([row])
                room.append(width - len(row))
        per_batch = max(1, self.token_budget // width) if width else 1
        for i in range(0, len(packs), per_batch):
            yield packs[i : i + per_batch]

    def _prefix(self, ids: list[int]) -> Prefix:
        torch = self._torch
        with torch.inference_mode():
            cache = self.decoder(input_ids=torch.tensor([ids], device=self.device), use_cache=True).past_key_values
        self.forward_calls += 1
        self.positions += len(ids)
        return Prefix(len(ids), [(layer.keys, layer.values) for layer in cache.layers])

    def _hidden(self, rows: list[Row]) -> Iterator[tuple[list[Row], torch.Tensor, dict[int, tuple[int, int, list[int]]]]]:
        """Every row through the model: per batch, its rows (contexts without the shared prefix),
        their hidden states and where each row sits (see `_forward`)."""
        for shared, group in prefix_groups(rows, min_saving=self.pack_width):
            prefix = self._prefix(group[0].context[:shared]) if shared else None
            rest = [Row(r.index, r.context[shared:], r.targets) for r in group]
            for batch in self.batches(rest):
                hidden, where = self._forward(batch, prefix)
                yield [r for pack in batch for r in pack], hidden, where

    def _forward(
        self, batch: list[list[Row]], prefix: Prefix | None
    ) -> tuple[torch.Tensor, dict[int, tuple[int, int, list[int]]]]:
        """Hidden states of packed sequences under the block mask, after the prefix's cached states.

        Returns them and, per item index: (sequence in batch, offset of its context, segment starts).
        """
        from transformers import DynamicCache

        torch = self._torch
        width = max(sum(len(r) for r in pack) for pack in batch)
        ids = torch.full((len(batch), width), self.tokenizer.pad_token_id or 0, dtype=torch.long)
        pos = torch.zeros((len(batch), width), dtype=torch.long)
        allowed = torch.zeros((len(batch), width, width), dtype=torch.bool)
        where: dict[int, tuple[int, int, list[int]]] = {}
        for b, pack in enumerate(batch):
            offset = 0
            for row in pack:
                n = len(row.context)
                ctx = slice(offset, offset + n)
                ids[b, ctx] = torch.tensor(row.context)
                pos[b, ctx] = torch.arange(n)
                allowed[b, ctx, ctx] = torch.ones(n, n, dtype=torch.bool).tril()
                start, starts = offset + n, []
                for seg in row.segments:
                    k = len(seg)
                    starts.append(start)
                    if k:
                        span = slice(start, start + k)
                        ids[b, span] = torch.tensor(seg)
                        pos[b, span] = torch.arange(n, n + k)
                        allowed[b, span, ctx] = True
                        allowed[b, span, span] = torch.ones(k, k, dtype=torch.bool).tril()
                    start += k
                where[row.index] = (b, offset, starts)
                offset = start
            # Padding positions see themselves only, so no softmax row is empty.
            idx = torch.arange(offset, width)
            allowed[b, idx, idx] = True
        cache = None
        if prefix:  # every position also sees the whole prefix, and counts on from its end
            allowed = torch.cat([torch.ones(len(batch), width, prefix.length, dtype=torch.bool), allowed], -1)
            pos += prefix.length
            cache = DynamicCache([(k.expand(len(batch), -1, -1, -1), v.expand(len(batch), -1, -1, -1)) for k, v in prefix.layers])
        mask = torch.zeros(allowed.shape, dtype=self.dtype).masked_fill_(~allowed, torch.finfo(self.dtype).min)
        with torch.inference_mode():
            hidden = self.decoder(
                input_ids=ids.to(self.device), attention_mask=mask[:, None].to(self.device), position_ids=pos.to(self.device),
                past_key_values=cache, use_cache=cache is not None,
            ).last_hidden_state
        self.forward_calls += 1
        self.positions += sum(len(r) for pack in batch for r in pack)
        return hidden, where

    def _log_probs(self, hidden_rows: torch.Tensor) -> torch.Tensor:
        logits = self.lm_head(hidden_rows).float()
        if self.softcap:
            logits = self.softcap * self._torch.tanh(logits / self.softcap)
        return logits.log_softmax(-1)

    # -- scoring kinds --------------------------------------------------------------------------
    def loglik(self, prompts: Sequence[Prompt]) -> list[list[tuple[float, int]]]:
        """(sum of continuation log-probs, continuation tokens) for every choice of every prompt."""
        torch = self._torch
        rows = [self.loglik_row(i, p) for i, p in enumerate(prompts)]
        out: list[list[tuple[float, int]]] = [[] for _ in prompts]
        for batch, hidden, where in self._hidden(rows):
            gather_b, gather_t, targets, owners = [], [], [], []
            for row in batch:
                b, offset, starts = where[row.index]
                last_ctx = offset + len(row.context) - 1
                for c, (target, start) in enumerate(zip(row.targets, starts, strict=True)):
                    # token 0 is predicted at the context's end; token j>0 at the segment's position j-1
                    positions = [last_ctx] + [start + j for j in range(len(target) - 1)]
                    gather_b += [b] * len(positions)
                    gather_t += positions
                    targets += target
                    owners += [(row.index, c)] * len(positions)
            lp = self._log_probs(hidden[gather_b, gather_t])
            picked = lp[torch.arange(len(targets)), torch.tensor(targets, device=lp.device)].tolist()
            sums: dict[tuple[int, int], float] = {}
            for owner, value in zip(owners, picked, strict=True):
                sums[owner] = sums.get(owner, 0.0) + value
            for row in batch:
                out[row.index] = [(sums[(row.index, c)], len(t)) for c, t in enumerate(row.targets)]
        return out

    def letters(self, prompts: Sequence[Prompt], n_choices: Sequence[int]) -> list[list[float]]:
        """Full-vocabulary log-probs of the answer letters at the answer position (one pass per item)."""
        rows, letter_ids = [], []
        for i, (p, n) in enumerate(zip(prompts, n_choices, strict=True)):
            context, ids = self.letter_ids(p, n)
            rows.append(Row(i, context, []))
            letter_ids.append(ids)
        out: list[list[float]] = [[] for _ in prompts]
        for batch, hidden, where in self._hidden(rows):
            seq = [where[r.index][0] for r in batch]
            last = [where[r.index][1] + len(r.context) - 1 for r in batch]
            lp = self._log_probs(hidden[seq, last])
            for k, row in enumerate(batch):
                out[row.index] = lp[k, letter_ids[row.index]].tolist()
        return out

    def generate(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[str]:
        """Greedy continuations, batched with left padding (what generation needs)."""
        torch = self._torch
        out: list[str] = [""] * len(prompts)
        rows = sorted((Row(i, self.bos + self.encode(p.context), []) for i, p in enumerate(prompts)), key=len, reverse=True)
        per_batch = max(1, self.token_budget // max(1, len(rows[0]) + max_new_tokens)) if rows else 1
        for batch in (rows[i : i + per_batch] for i in range(0, len(rows), per_batch)):
            width = max(len(r.context) for r in batch)
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            attn = torch.zeros((len(batch), width), dtype=torch.long)
            for b, row in enumerate(batch):
                ids[b, width - len(row.context):] = torch.tensor(row.context)
                attn[b, width - len(row.context):] = 1
            with torch.inference_mode():
                gen = self.model.generate(
                    input_ids=ids.to(self.device), attention_mask=attn.to(self.device), max_new_tokens=max_new_tokens,
                    do_sample=False, pad_token_id=pad,
                )
            self.forward_calls += 1
            self.positions += int(attn.sum()) + len(batch) * max_new_tokens
            for b, row in enumerate(batch):
                out[row.index] = self.tokenizer.decode(gen[b, width:], skip_special_tokens=True)
        return out


_LETTER_RE = re.compile(r"^\W*(?:answer\s*(?:is)?\s*:?\s*)?\(?([A-J])\b[).:]?", re.IGNORECASE)


def parse_answer(text: str, choices: list[str]) -> int | None:
    """A generated answer as a choice index: a leading letter (A, (B), 'Answer: C'), or the one choice
    whose text it starts with. None when neither reads unambiguously."""
    stripped = text.strip()
    match = _LETTER_RE.match(stripped)
    if match and LETTERS.index(match.group(1).upper()) < len(choices):
        return LETTERS.index(match.group(1).upper())
    lowered = stripped.lower()
    hits = [i for i, c in enumerate(choices) if lowered.startswith(c.lower())]
    return hits[0] if len(hits) == 1 else None


def reference_loglik(model: PreTrainedModel, scorer: Scorer, context: str, continuation: str) -> float:
    """The slow, obviously-correct reference: one plain causal forward over context + continuation."""
    import torch

    ctx, cont = scorer.encode_pair(context, continuation)
    ids = torch.tensor([ctx + cont], device=scorer.device)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0].float().log_softmax(-1)
    return sum(logits[len(ctx) - 1 + j, t].item() for j, t in enumerate(cont))
