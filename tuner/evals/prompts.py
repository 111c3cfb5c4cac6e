"""Prompt variants and the rendering of an item into what the scorer reads.

A variant is written `LANG[+persona=NAME][+shots=K][+chat|+nochat][+scoring=KIND]`, e.g. `en`,
`hi+persona=india`, `en+shots=3+chat`, `en+scoring=mc_letter`. Its canonical name keys the result
store, so the same variant always finds its stored answers.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, get_args

from tuner.config import load_yaml
from tuner.errors import UserError
from tuner.evals.spec import EVAL_ROOT, BenchmarkSpec, Item, Scoring

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True)
class Variant:
    lang: str = "en"
    persona: str | None = None
    shots: int = 0
    chat: bool | None = None  # None: the spec's own setting
    scoring: Scoring | None = None  # None: the spec's own scoring kind

    @classmethod
    def parse(cls, text: str) -> Variant:
        parts = [p.strip() for p in text.split("+") if p.strip()]
        if not parts or "=" in parts[0]:
            raise UserError(f"variant '{text}': start with a language code, e.g. en or hi+persona=india")
        v = cls(lang=parts[0])
        for part in parts[1:]:
            key, _, value = part.partition("=")
            if part in ("chat", "nochat"):
                v = replace(v, chat=part == "chat")
            elif key == "persona" and value:
                v = replace(v, persona=value)
            elif key == "shots" and value.isdigit():
                v = replace(v, shots=int(value))
            elif key == "scoring" and value in get_args(Scoring):
                v = replace(v, scoring=value)  # type: ignore[arg-type]
            else:
                raise UserError(
                    f"variant '{text}': cannot read '{part}'; use persona=NAME, shots=K, chat, nochat or "
                    f"scoring=({'|'.join(get_args(Scoring))})"
                )
        return v

    def resolved(self, spec: BenchmarkSpec) -> Variant:
        """Fill the spec's defaults in, so equal settings get equal names."""
        if self.lang not in spec.languages:
            raise UserError(f"variant '{self.name}': benchmark '{spec.id}' has languages {spec.languages}")
        return replace(self, chat=spec.chat if self.chat is None else self.chat, scoring=self.scoring or spec.scoring)

    @property
    def name(self) -> str:
        parts = [self.lang]
        if self.persona:
            parts.append(f"persona={self.persona}")
        if self.shots:
            parts.append(f"shots={self.shots}")
        if self.chat:
            parts.append("chat")
        if self.scoring:
            parts.append(f"scoring={self.scoring}")
        return "+".join(parts)

    @property
    def label(self) -> str:
        """The name without the scoring kind, which reports show in a column of its own."""
        return self.name.split("+scoring=")[0]


def persona_text(name: str, lang: str, spec: BenchmarkSpec | None = None) -> str:
    personas = {**load_yaml(EVAL_ROOT / "personas.yaml"), **(spec.persona_texts() if spec else {})}
    if name not in personas:
        raise UserError(f"persona '{name}': not in eval/personas.yaml or the benchmark's personas; known: {', '.join(personas)}")
    texts = personas[name]
    if lang not in texts:
        raise UserError(f"persona '{name}' has no '{lang}' text in eval/personas.yaml (has {', '.join(texts)})")
    return texts[lang]


SHOTS_SCHEME = "fixed"  # how shots are drawn (`draw_shots`); a new scheme must not reuse old answers


def prompt_key(spec: BenchmarkSpec, variant: Variant) -> str:
    """What keys stored results on the prompt: the hash of the variant language's template, plus the
    persona's text, so editing a persona never reuses answers given under the old wording, plus the
    way shots are drawn."""
    parts = [spec.prompt_hash(variant.lang)]
    if variant.persona:
        parts.append(persona_text(variant.persona, variant.lang, spec))
    if variant.shots:
        parts.append(f"shots:{SHOTS_SCHEME}")
    if len(parts) == 1:
        return parts[0]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


@dataclass
class Prompt:
    """What the scorer reads for one item.

    mc_loglik: `context`, then each of `continuations` scored as its continuation.
    mc_letter / distribution / generate: `context` ends where the answer letter is expected.
    """

    context: str
    continuations: list[str]


def options_block(choices: list[str]) -> str:
    return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(choices))


def _fill(template: str, item: Item) -> str:
    try:
        return template.format(question=item.question, options=options_block(item.choices), country=item.country)
    except (KeyError, IndexError) as e:
        raise UserError(f"prompt template '{template}': unknown placeholder {e}; use {{question}}, {{options}}, {{country}}") from None


def draw_shots(pool: list[Item], lang: str, k: int, spec_id: str) -> list[Item]:
    """The k+1 answered items of `lang` drawn once reproducibly (as MMLU's fixed dev shots): every
    item is shown the first k, and an item among them the next one drawn instead of itself."""
    candidates = [p for p in pool if p.lang == lang and p.answer is not None]
    return random.Random(f"{spec_id}:{lang}:shots").sample(candidates, min(k + 1, len(candidates)))


def pick_shots(items: list[Item], pool: list[Item], k: int, spec_id: str) -> list[list[Item]]:
    """Per item, the same k shots of its language, so the prompts of a variant share their opening
    and the engine runs it once. Drawn once per language, not per item."""
    if k == 0:
        return [[] for _ in items]
    drawn = {lang: draw_shots(pool, lang, k, spec_id) for lang in {it.lang for it in items}}
    out = []
    for item in items:
        shots = [p for p in drawn[item.lang] if p.id != item.id][:k]
        if len(shots) < k:
            raise UserError(f"benchmark '{spec_id}': {k} shots asked but only {len(shots)} other answered items in '{item.lang}'")
        out.append(shots)
    return out


def _answer_text(item: Item, letter_mode: bool) -> str:
    assert item.answer is not None  # draw_shots only draws answered items
    if letter_mode:
        return LETTERS[item.answer]
    if "___" in item.question:
        return item.question.replace("___", item.choices[item.answer])
    return item.choices[item.answer]


def build_prompt(
    item: Item, spec: BenchmarkSpec, variant: Variant, shots: list[Item], tokenizer: PreTrainedTokenizerBase | None
) -> Prompt:
    """Render one item under a resolved variant."""
    letter_mode = variant.scoring != "mc_loglik"
    template = spec.prompt(item.lang).letter if letter_mode else spec.prompt(item.lang).loglik
    cloze = spec.format == "cloze" and not letter_mode
    persona = persona_text(variant.persona, item.lang, spec) if variant.persona else None

    def body(it: Item) -> str:
        filled = _fill(template, it)
        return filled.split("___")[0].rstrip(" ") if cloze else filled

    whole = cloze and spec.cloze_scope == "sentence"
    if whole:  # each filled sentence is scored in full (arXiv 2506.01675: the lowest mean token loss wins)
        if variant.chat:
            raise UserError(f"variant '{variant.name}': cloze_scope 'sentence' scores plain text; use +nochat")
        before, after = _fill(template, item).split("___")
        continuations = [f"{before}{c}{after}" for c in item.choices]
    elif cloze:
        before, after = _fill(template, item).split("___")
        gap = before[len(before.rstrip(" ")) :]  # the space before the blank belongs to the continuation
        continuations = [f"{gap}{c}{after}" for c in item.choices]
    else:
        continuations = [c for c in item.choices]

    if variant.chat:
        if tokenizer is None or not tokenizer.chat_template:
            raise UserError(f"variant '{variant.name}': the model's tokenizer has no chat template; use +nochat")
        messages = [{"role": "system", "content": persona}] if persona else []
        for shot in shots:
            messages += [{"role": "user", "content": _fill(template, shot) if not cloze else body(shot)},
                         {"role": "assistant", "content": _answer_text(shot, letter_mode)}]
        messages.append({"role": "user", "content": body(item)})
        context = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        if cloze:
            continuations = [c.lstrip(" ") for c in continuations]
        return Prompt(context, continuations)

    blocks = [persona] if persona else []
    for shot in shots:
        answer = _answer_text(shot, letter_mode)
        blocks.append(answer if cloze else f"{_fill(template, shot)} {answer}")
    if whole:  # the sentence starts a document, or a new block after the persona and shots
        return Prompt("\n\n".join(blocks) + "\n\n" if blocks else "", continuations)
    blocks.append(body(item))
    context = "\n\n".join(blocks)
    # Plain prompts: each choice follows the context after one space (lm-eval's target delimiter).
    if not cloze:
        continuations = [f" {c}" for c in continuations]
    return Prompt(context, continuations)
