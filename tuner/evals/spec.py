"""Benchmark specs: one YAML file under `eval/` describes a benchmark, no code.

A spec names where the items come from (a local file or a hub dataset), how the file's columns map
to an `Item`, the prompt templates per language, the scoring kind and the metric. The model is never
part of a spec: it is the argument of `tuner eval`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuner.config import load_config, load_yaml
from tuner.errors import UserError
from tuner.paths import PROJECT_ROOT

EVAL_ROOT = PROJECT_ROOT / "eval"
Scoring = Literal["mc_loglik", "mc_letter", "distribution", "generate"]


class Item(BaseModel):
    """One question in one language; parallel translations share `id`."""

    id: str = Field(description="Item id, shared by the translations of one question.")
    question: str = Field(description="The question text; for cloze items a sentence with a `___` blank.")
    choices: list[str] = Field(min_length=2, description="Answer options in their shown order.")
    answer: int | None = Field(description="0-based index of the correct choice; None for opinion/value items.")
    lang: str = Field("en", description="Language code of question and choices.")
    category: str = Field("", description="Category for per-category metrics.")
    country: str = Field("", description="Country the item is about (empty when none).")
    meta: dict[str, Any] = Field(default_factory=dict, description="Anything else the benchmark keeps per item.")

    @property
    def key(self) -> str:
        return f"{self.id}@{self.lang}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSpec(_Strict):
    path: str | None = Field(None, description="Local .jsonl/.json/.csv/.parquet file, relative to the spec file.")
    paths: dict[str, str] | None = Field(
        None, description="One local file per language, parallel by row (row number = item id when there is no id column)."
    )
    hub: str | None = Field(None, description="Hub dataset id.")
    config: str | None = Field(None, description="Hub dataset config.")
    split: str = Field("test", description="Split to read from the hub.")
    origin: str = Field(..., description="Where the data comes from (paper, dataset card).")
    license: str = Field(..., description="The data's license.")
    get: str | None = Field(None, description="How a user obtains the data when it is not shipped.")

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSpec:
        if sum(x is not None for x in (self.path, self.paths, self.hub)) != 1:
            raise ValueError("give exactly one of 'path' (a local file), 'paths' (a file per language) or 'hub' (a dataset id)")
        return self

    def local_files(self) -> dict[str | None, str]:
        """Language (None: given by the rows) -> local file."""
        return dict(self.paths) if self.paths else ({None: self.path} if self.path else {})


class PromptSpec(_Strict):
    loglik: str = Field(
        "{question}", description="Context for mc_loglik; each choice is scored as its continuation (after a space)."
    )
    letter: str = Field(
        "{question}\n{options}\nAnswer:", description="Prompt for mc_letter/distribution/generate; {options} lists A. .. D."
    )


class BenchmarkSpec(_Strict):
    id: str = Field(..., description="Benchmark id, used in the result store and reports.")
    version: int = Field(..., ge=1, description="Bump whenever items or prompts change: stored results key on it.")
    description: str
    source: SourceSpec
    format: Literal["mc", "cloze"] = Field("mc", description="mc: question + options; cloze: a `___` blank filled by each option.")
    cloze_scope: Literal["continuation", "sentence"] = Field(
        "continuation",
        description="cloze under mc_loglik: score what follows the blank given the text before it (lm-eval's way), or "
        "each filled sentence whole from the document start (with metric acc_token: the lowest mean token loss wins).",
    )
    columns: dict[str, str] = Field(default_factory=dict, description="Item field -> column name, where they differ.")
    languages: list[str] = Field(["en"], min_length=1, description="Languages present; a variant asks one of them.")
    scoring: Scoring = Field("mc_loglik", description="How a model's answer is read (DESIGN.md: Scoring).")
    metric: Literal["acc", "acc_norm", "acc_token"] = Field(
        "acc", description="mc_loglik normalisation that decides the prediction: raw sum, per character, per token."
    )
    chat: bool = Field(False, description="Render prompts with the model's chat template (variants may override).")
    prompts: dict[str, PromptSpec] = Field(default_factory=dict, description="Templates per language; default: {question}.")
    max_new_tokens: int = Field(16, gt=0, description="generate: tokens to produce before parsing.")
    module: str | None = Field(
        None,
        description="A benchmark whose rows need more than a column mapping (tuner.evals.benchmarks.NAME): "
        "its build_items() makes the Items and its metrics() adds the published metric.",
    )
    module_options: dict[str, Any] = Field(default_factory=dict, description="Keyword options for the module's build_items().")
    personas: str | None = Field(
        None, description="Persona file of this benchmark (JSONL: persona, persona_text{lang: text}), beside eval/personas.yaml."
    )
    variants: list[str] = Field(
        default_factory=lambda: ["{lang}"],
        description="Variants asked when none are given; {lang} runs over languages, {persona} over the persona file.",
    )
    higher_is_better: bool = True

    # Where relative paths start (the spec's folder); not a YAML key.
    base_dir: Path = Field(default=Path("."), exclude=True)

    @model_validator(mode="after")
    def _prompts_cover_languages(self) -> BenchmarkSpec:
        extra = set(self.prompts) - set(self.languages)
        if extra:
            raise ValueError(f"prompts given for {sorted(extra)} which are not in languages {self.languages}")
        return self

    @model_validator(mode="after")
    def _module_exists(self) -> BenchmarkSpec:
        if self.module is not None:
            import importlib.util

            if not self.module.startswith("tuner.evals.") or importlib.util.find_spec(self.module) is None:
                raise ValueError(f"module '{self.module}' is not a tuner benchmark module (tuner.evals.benchmarks.NAME)")
        return self

    def benchmark_module(self) -> Any:
        import importlib

        return importlib.import_module(self.module) if self.module else None

    def persona_texts(self) -> dict[str, dict[str, str]]:
        """persona -> language -> text from the benchmark's own persona file (empty when none)."""
        if self.personas is None:
            return {}
        import json

        path = self.base_dir / self.personas
        if not path.is_file():
            raise UserError(f"benchmark '{self.id}': personas file {path} not found")
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return {row["persona"]: row["persona_text"] for row in rows}

    def default_variants(self) -> list[str]:
        personas = list(self.persona_texts())
        out: list[str] = []
        for template in self.variants:
            for lang in self.languages if "{lang}" in template else [None]:
                for persona in personas if "{persona}" in template else [None]:
                    out.append(template.format(lang=lang, persona=persona))
        return out

    def prompt(self, lang: str) -> PromptSpec:
        return self.prompts.get(lang, PromptSpec())

    def data_missing(self) -> bool:
        """A local data file that is not there (hub sources are only known missing when loaded)."""
        return any(not (self.base_dir / p).is_file() for p in self.source.local_files().values())

    def prompt_hash(self, lang: str | None = None) -> str:
        """Hash of everything that shapes the rendered prompt (of one language, or of all); stored
        with every result, so adding a language leaves the others' stored results valid."""
        prompts = [(lang, self.prompt(lang).model_dump())] if lang else sorted((k, v.model_dump()) for k, v in self.prompts.items())
        text = repr((self.format, prompts))
        if self.cloze_scope != "continuation":
            text += self.cloze_scope
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def find_spec_file(name: str) -> Path | None:
    """`india_recall` → eval/**/india_recall.yaml; a path works too."""
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    matches = [p for p in EVAL_ROOT.rglob(f"{name}.yaml") if p.parent.name != "suites"]
    return matches[0] if len(matches) == 1 else None


def load_spec(name: str) -> BenchmarkSpec:
    path = find_spec_file(name)
    if path is None:
        known = sorted(p.stem for p in EVAL_ROOT.rglob("*.yaml") if p.parent != EVAL_ROOT and p.parent.name != "suites")
        raise UserError(f"benchmark '{name}': no spec found under eval/; known: {', '.join(known)}")
    spec = load_config(BenchmarkSpec, path)
    spec.base_dir = path.resolve().parent
    return spec


def load_suite(names: str) -> list[BenchmarkSpec]:
    """`--suite a,b`: each name is a suite from eval/suites.yaml or a single benchmark id.

    A suite's `optional` benchmarks join only when their data file is present; otherwise a note
    says how to get it (the data-backed benchmarks are not shipped)."""
    import sys

    suites = load_yaml(EVAL_ROOT / "suites.yaml") if (EVAL_ROOT / "suites.yaml").is_file() else {}
    specs: list[BenchmarkSpec] = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        suite = suites.get(name, {})
        wanted = [(b, False) for b in suite.get("benchmarks", [] if suite else [name])]
        wanted += [(b, True) for b in suite.get("optional", [])]
        for bench, optional in wanted:
            if any(s.id == bench for s in specs):
                continue
            spec = load_spec(bench)
            if optional and spec.data_missing():
                where = ", ".join(str(spec.base_dir / f) for f in spec.source.local_files().values())
                sys.stderr.write(f"note: skipping '{bench}' (no data at {where}); {spec.source.get or ''}\n")
                continue
            specs.append(spec)
    if not specs:
        raise UserError(f"--suite {names}: no benchmark to run (none named, or none has its data yet; see the notes above)")
    return specs
