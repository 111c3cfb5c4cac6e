"""`run_study(spec)`: train the arms a study names, evaluate every model, compare, one report.

validate the spec → train each arm with a recipe (skipped when its run folder already holds a
finished run of the same resolved recipe) → evaluate the base and every arm on the suite (the
result store answers what was scored before) → each arm vs the base, and each contrast between two
arms, item by item → studies/NAME/report.md, report.json, figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tuner.ablate.ablate import evaluate_each
from tuner.ablate.compare import compare_runs
from tuner.ablate.values import value_changes
from tuner.config import dump_yaml, load_config
from tuner.errors import UserError
from tuner.evals.spec import load_suite
from tuner.evals.store import ResultStore
from tuner.paths import find_shipped

if TYPE_CHECKING:
    from tuner.lab.study import TransferStudySpec


class Arm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., pattern=r"^[A-Za-z0-9_-]+$", description="Arm name; also its run folder's name.")
    recipe: str | None = Field(None, description="Recipe to train this arm (path or shipped name); None: no training.")
    overrides: list[str] = Field(default_factory=list, description="key.path=value overrides for the recipe.")
    model: str | None = Field(None, description="Model to evaluate when there is no recipe; default: the study's base.")
    variants: list[str] | dict[str, list[str]] | None = Field(
        None, description="Prompt variants, or per benchmark id; default: the study's base_variants."
    )

    @model_validator(mode="after")
    def _one_source(self) -> Arm:
        if self.recipe and self.model:
            raise ValueError(f"arm '{self.name}': give a recipe to train or a model to evaluate, not both")
        return self


class StudySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["comparison"] = Field("comparison", description="comparison: arms vs a base; transfer: the lab's study.")
    name: str = Field(..., pattern=r"^[A-Za-z0-9_-]+$")
    description: str
    base: str = Field(..., description="The base model every arm is compared with.")
    suite: str = Field(..., description="Suites or benchmark ids, comma-separated.")
    base_variants: list[str] | dict[str, list[str]] | None = Field(
        None,
        description="Variants, or per benchmark id; '{lang}' expands to each language, '{persona}' to each persona of "
        "the benchmark; None: each benchmark's own defaults, plus the letter-scored twin of log-likelihood ones.",
    )
    arms: list[Arm] = Field(..., min_length=1)
    contrasts: list[tuple[str, str]] = Field(
        default_factory=list, description="[reference, arm] pairs compared directly, item by item."
    )
    seed: int = Field(0, description="Bootstrap seed.")
    out: str = Field("studies", description="Parent folder of the study folder, relative to the working directory.")

    @model_validator(mode="after")
    def _known_arms(self) -> StudySpec:
        names = [a.name for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names must be unique")
        for a, b in self.contrasts:
            for n in (a, b):
                if n not in names:
                    raise ValueError(f"contrast names unknown arm '{n}'; arms are {names}")
        return self


def load_study(ref: str) -> StudySpec | TransferStudySpec:
    """A comparison study, or (`kind: transfer`) a transfer-lab study."""
    from tuner.config import load_yaml
    from tuner.lab.study import TransferStudySpec

    path = Path(ref) if Path(ref).is_file() else find_shipped(ref, "ablations")
    if path is None:
        raise UserError(f"{ref}: no such study file; give a path or a name under ablations/")
    raw = load_yaml(path)
    if isinstance(raw, dict) and raw.get("kind") == "transfer":
        spec = load_config(TransferStudySpec, path)
        spec.base_dir = path.resolve().parent
        return spec
    return load_config(StudySpec, path)


def train_once(recipe_ref: str, overrides: list[str], run_dir: Path) -> tuple[Path, bool]:
    """Train unless the folder already holds a finished run of the same resolved recipe."""
    from tuner.recipe import load_recipe
    from tuner.train.run_folder import same_recipe
    from tuner.train.trainer import train

    recipe = load_recipe(recipe_ref, [*overrides, f"output.dir={run_dir}"])
    done = run_dir / "run.json"
    if done.is_file() and same_recipe(run_dir / "recipe.yaml", dump_yaml(recipe)):
        return run_dir, False
    train(recipe, overwrite=run_dir.exists(), resume=False)
    return run_dir, True


def run_study(spec: StudySpec, store: ResultStore | None = None, progress: bool = True) -> dict[str, Any]:
    started = time.perf_counter()
    store = store or ResultStore()
    specs = load_suite(spec.suite)
    folder = Path(spec.out) / spec.name
    models: dict[str, str] = {"base": spec.base}
    trained: dict[str, bool] = {}
    for arm in spec.arms:  # train first: a recipe error stops the study before any long evaluation
        if arm.recipe:
            run_dir, ran = train_once(arm.recipe, arm.overrides, (folder / "runs" / arm.name).resolve())
            models[arm.name], trained[arm.name] = str(run_dir), ran
        else:
            models[arm.name], trained[arm.name] = arm.model or spec.base, False

    base = evaluate_each(spec.base, specs, spec.base_variants, store, progress)
    arms = {a.name: evaluate_each(models[a.name], specs, a.variants or spec.base_variants, store, progress) for a in spec.arms}
    results = {"base": base, **arms}
    pairs = [("base", a.name) for a in spec.arms] + list(spec.contrasts)
    comparisons = [
        {
            "name": f"{arm} vs {ref}", "reference": ref, "arm": arm, **compare_runs(results[ref].runs, results[arm].runs, spec.seed),
            # Questionnaires (VSM): the distance to the focus countries' published scores, per side.
            "values": value_changes(results[ref], results[arm], folder / "values" / f"{arm}_vs_{ref}", (ref, arm)),
        }
        for ref, arm in pairs
    ]
    from tuner.train.trainer import library_versions

    everything = list(results.values())
    return {
        "study": spec.model_dump(mode="json"),
        "folder": str(folder),
        "models": {name: {"ref": models[name], "fingerprint": res.fingerprint, "trained_now": trained.get(name, False)}
                   for name, res in zip(["base", *arms], everything)},
        "comparisons": comparisons,
        "meta": {
            "versions": library_versions(),
            "specs": [{"id": s.id, "version": s.version, "prompt_hash": s.prompt_hash()} for s in specs],
            "items_scored": sum(r.timing["items_scored"] for r in everything),
            "forward_calls": sum(r.forward_calls for r in everything),
            "trained": sum(trained.values()),
            "wall_s": round(time.perf_counter() - started, 1),
        },
        "recipes": {
            a.name: (Path(models[a.name]) / "recipe.yaml").read_text(encoding="utf-8") for a in spec.arms if a.recipe
        },
    }


def write_study_report(result: dict[str, Any]) -> Path:
    """report.json, report.md (formatted from the same dict) and a forest plot of accuracy changes."""
    from tuner.report.ablation import HEADLINE, headline_rows, markdown_table, values_section, verdict
    from tuner.report.plots import forest_plot

    folder = Path(result["folder"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    figure = forest_plot(result["comparisons"], folder / "accuracy_change.png", f"Study {result['study']['name']}: Δ accuracy with 95% CI")
    meta = result["meta"]
    lines = [
        f"# Study: {result['study']['name']}", "", result["study"]["description"].strip(), "",
        f"Base `{result['study']['base']}`; suite `{result['study']['suite']}`; bootstrap seed {result['study']['seed']}. "
        f"This run trained {meta['trained']} arm(s), scored {meta['items_scored']} items with {meta['forward_calls']} forward passes, "
        f"in {meta['wall_s']} s.", "",
        "| model | reference | fingerprint | trained in this run |", "|---|---|---|---|",
        *[f"| {name} | `{m['ref']}` | `{m['fingerprint']}` | {'yes' if m['trained_now'] else 'no'} |" for name, m in result["models"].items()],
        "",
    ]
    for comp in result["comparisons"]:
        header = [*HEADLINE[:4], f"{comp['reference']} acc [95% CI]", f"{comp['arm']} acc [95% CI]", *HEADLINE[6:]]
        lines += [f"## {comp['name']}", "", markdown_table(header, headline_rows(comp)), ""]
        lines += [f"- {b['id']} [{b['label']}, {b['scoring']}]: {verdict(b)}." for b in comp["benchmarks"] if b.get("n")]
        for r in comp["recall_vs_retention"]:
            lines.append(f"- recall vs retention, {r['id']} [{r['variant']}]: {r['lost']} lost under {r['scoring']}, "
                         f"{r['still_known']} still ranked first by log-likelihood, {r['forgotten']} forgotten.")
        lines.append("")
        if comp["values"]:
            lines += ["Values: distance to India and the USA.", "", *values_section(comp["values"], comp["reference"], comp["arm"]), ""]
    if figure:
        lines += [f"![accuracy change]({figure.name})", ""]
    lines += ["## Reproducibility", "", "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
              "Benchmarks: " + ", ".join(f"{s['id']} v{s['version']} (prompt {s['prompt_hash']})" for s in meta["specs"]) + ".", ""]
    for name, text in result["recipes"].items():
        lines += [f"Resolved recipe of `{name}`:", "", "```yaml", text.rstrip(), "```", ""]
    (folder / "report.md").write_text("\n".join(lines), encoding="utf-8")
    return folder / "report.md"
