"""The `tuner` command line: parse, load and validate, call the library. No logic lives here.

Heavy libraries (torch, transformers, peft, trl) are imported inside the commands, so `--help` and
input errors answer at once. Exit codes: 0 done, 2 bad input (one line per problem), 1 runtime failure.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable

import typer

app = typer.Typer(
    help="Fine-tune regional LLMs from YAML recipes and measure what the fine-tune did to cultural knowledge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
recipe_app = typer.Typer(help="Inspect training recipes.", no_args_is_help=True)
data_app = typer.Typer(help="Inspect the data a recipe trains on.", no_args_is_help=True)
app.add_typer(recipe_app, name="recipe")
app.add_typer(data_app, name="data")

_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False) -> None:
    _state["debug"] = debug


def _fail(message: str, code: int) -> None:
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for line in message.splitlines() or [message]:
        err.print(f"[bold red]error:[/bold red] {escape(line)}")
    raise typer.Exit(code)


def handles_errors(fn: Callable) -> Callable:
    """UserError → exit 2 with its message; RuntimeFailure → exit 1; tracebacks only with --debug."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from tuner.errors import RuntimeFailure, UserError

        try:
            return fn(*args, **kwargs)
        except (UserError, RuntimeFailure) as e:
            if _state["debug"]:
                raise
            _fail(str(e), 2 if isinstance(e, UserError) else 1)
        except KeyboardInterrupt:
            _fail("interrupted; the same command continues where it stopped (`tuner train` with --resume)", 130)

    return wrapper


def _quiet_libraries() -> None:
    """Hide the libraries' per-step bars and info logs; tuner prints its own progress and summaries."""
    import warnings

    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    # Raised inside trl's own calls, not by anything a user can change.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


Overrides = Annotated[list[str] | None, typer.Argument(help="key.path=value overrides, applied after the file.")]


@app.command()
@handles_errors
def train(
    recipe: Annotated[str, typer.Argument(help="Recipe file, or the name of a shipped recipe (hindi_sft).")],
    overrides: Overrides = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in output.dir from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing run in output.dir.")] = False,
) -> None:
    """Fine-tune a model from a YAML recipe (LoRA, QLoRA or full; chat SFT or continued pretraining).

    With distributed.nproc > 1 (or distributed.deepspeed) the same command runs under a launcher.
    """
    from tuner.recipe import load_recipe, resolve_recipe_path
    from tuner.train import distributed

    loaded = load_recipe(recipe, overrides)
    if distributed.needs_launch(loaded.distributed):
        from tuner.config import dump_yaml
        from tuner.train.run_folder import check_run_folder

        distributed.check_launchable(loaded)
        check_run_folder(Path(loaded.output.dir).expanduser().resolve(), dump_yaml(loaded), overwrite, resume)
        flags = ["--resume"] * resume + ["--overwrite"] * overwrite
        code = distributed.run_launch(loaded.distributed, ["train", str(resolve_recipe_path(recipe)), *(overrides or []), *flags])
        if code:
            raise typer.Exit(code)  # the workers have reported the error
        return
    _quiet_libraries()
    from tuner.report.tables import print_run_summary
    from tuner.train.trainer import train as run_training

    result = run_training(loaded, overwrite=overwrite, resume=resume)
    if result is not None:  # the other ranks of a launch stay quiet
        print_run_summary(result)


@recipe_app.command("show")
@handles_errors
def recipe_show(recipe: Annotated[str, typer.Argument(help="Recipe file or shipped recipe name.")], overrides: Overrides = None) -> None:
    """Print the resolved recipe: every default filled in, overrides applied."""
    from tuner.config import dump_yaml
    from tuner.recipe import load_recipe

    sys.stdout.write(dump_yaml(load_recipe(recipe, overrides)))


@data_app.command("inspect")
@handles_errors
def data_inspect(recipe: Annotated[str, typer.Argument(help="Recipe file or shipped recipe name.")], overrides: Overrides = None) -> None:
    """Token statistics, truncation counts, packing efficiency and one rendered example with its loss mask."""
    from tuner.recipe import load_recipe

    loaded = load_recipe(recipe, overrides)
    _quiet_libraries()
    from tuner.data.inspect import inspect_recipe

    inspect_recipe(loaded)


@app.command()
@handles_errors
def merge(
    run: Annotated[Path, typer.Argument(help="A LoRA run folder written by `tuner train`.")],
    atol: Annotated[float, typer.Option(help="Largest allowed |logit| difference between adapter and merged model.")] = 1e-3,
) -> None:
    """Fold a LoRA adapter into its base (RUN/merged), checked equal to the adapter's outputs first."""
    from tuner.train.merge import merge_run

    target = merge_run(run, atol)
    typer.echo(f"merged model written to {target} ({(target / 'merge_check.txt').read_text().strip()})")


@app.command("eval")
@handles_errors
def eval_(
    model: Annotated[str, typer.Argument(help="Alias, hub id, model folder, tuner run folder or adapter folder.")],
    suite: Annotated[str, typer.Option(help="Suites or benchmark ids, comma-separated (eval/suites.yaml).")] = "india_recall",
    variant: Annotated[
        list[str] | None, typer.Option(help="Prompt variant, repeatable: en, hi+persona=india, en+shots=3+chat, en+scoring=mc_letter.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Results folder; default results/<model>/<suite>.")] = None,
    threads: Annotated[str, typer.Option(help="CPU threads: auto or a number.")] = "auto",
    store: Annotated[Path | None, typer.Option(help="Result store (SQLite); default $TUNER_HOME/results.sqlite.")] = None,
) -> None:
    """Score a model on benchmarks: accuracy per benchmark, category and language with 95% CIs."""
    from tuner.evals.spec import load_suite

    specs = load_suite(suite)
    for text in variant or []:
        from tuner.evals.prompts import Variant

        Variant.parse(text)  # fail on a malformed variant before loading anything
    _quiet_libraries()
    import json

    from tuner.evals.evaluate import evaluate, write_results
    from tuner.evals.sharding import Shards
    from tuner.evals.store import ResultStore
    from tuner.report.tables import print_eval_results

    result = evaluate(model, specs, variant, ResultStore(store), threads=int(threads) if threads.isdigit() else "auto")
    if not Shards().main:
        return  # under a launcher (torchrun -m tuner eval ...) rank 0 writes and prints
    target = out or Path("results") / _slug(model) / _slug(suite)
    path = write_results(result, target, suite)
    print_eval_results(json.loads(path.read_text()))
    typer.echo(f"results: {path}  per-item: {target / 'items.jsonl'}")


@app.command()
@handles_errors
def ablate(
    base: Annotated[str, typer.Option(help="The base model reference.")],
    tuned: Annotated[str, typer.Option(help="The tuned model: a run folder, adapter folder, model folder or hub id.")],
    suite: Annotated[str, typer.Option(help="Suites or benchmark ids, comma-separated.")] = "recall_and_control",
    variant: Annotated[
        list[str] | None,
        typer.Option(help="Variants; {lang} expands. Default: each benchmark's own, plus the letter-scored twin of log-likelihood ones."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Report folder; default reports/<tuned>-vs-<base>.")] = None,
    store: Annotated[Path | None, typer.Option(help="Result store (SQLite); default $TUNER_HOME/results.sqlite.")] = None,
    force: Annotated[bool, typer.Option(help="Compare even when the tuned model was trained on another base.")] = False,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
) -> None:
    """Compare base and tuned item by item: knowledge lost and gained per benchmark, with statistics."""
    from tuner.evals.spec import load_suite

    load_suite(suite)  # refuse unknown suites before loading any model
    _quiet_libraries()
    from tuner.ablate.ablate import ablate as run_ablation
    from tuner.evals.store import ResultStore
    from tuner.report.ablation import write_report
    from tuner.report.tables import print_ledger

    result = run_ablation(base, tuned, suite, variant, ResultStore(store), force, seed)
    if result is None:
        return  # a non-main rank of a launch
    items = {
        side: {f"{r.spec.id}|{r.variant.name}": r.responses for r in res.runs} for side, res in (("base", result.base), ("tuned", result.tuned))
    }
    target = out or Path("reports") / f"{_slug(tuned)}-vs-{_slug(base)}"
    from tuner.ablate.values import value_changes

    result.report["values"] = value_changes(result.base, result.tuned, target)
    path = write_report(result.report, items["base"], items["tuned"], target)
    print_ledger(result.report)
    meta = result.report["meta"]
    typer.echo(f"report: {path} (+ report.json, report.html, figures); {meta['items_scored']} items scored, "
               f"{meta['forward_calls']} forward passes, {result.wall_s:.1f} s")


@app.command()
@handles_errors
def study(
    spec: Annotated[str, typer.Argument(help="Study spec file, or the name of one under ablations/.")],
    store: Annotated[Path | None, typer.Option(help="Result store (SQLite); default $TUNER_HOME/results.sqlite.")] = None,
) -> None:
    """Run a study: train its arms, evaluate every model, compare each with the base, one report.
    `kind: transfer` studies run the transfer lab (bridges vs no bridges, arXiv 2506.01675)."""
    from tuner.ablate.study import load_study

    loaded = load_study(spec)
    _quiet_libraries()
    if loaded.kind == "transfer":
        from tuner.lab.study import run_transfer_study, write_transfer_report

        result = run_transfer_study(loaded)  # type: ignore[arg-type]
        typer.echo(f"report: {write_transfer_report(result)}; trained {result['trained']} run(s), {result['wall_s']} s")
        return
    from tuner.ablate.study import run_study, write_study_report
    from tuner.evals.store import ResultStore
    from tuner.report.tables import print_ledger

    result = run_study(loaded, ResultStore(store))
    path = write_study_report(result)
    for comp in result["comparisons"]:
        print_ledger({**comp, "meta": {"tuned": {"ref": comp["arm"]}, "base": {"ref": comp["reference"]}}})
    meta = result["meta"]
    typer.echo(f"report: {path}; trained {meta['trained']} arm(s), scored {meta['items_scored']} items, "
               f"{meta['forward_calls']} forward passes, {meta['wall_s']} s")


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text.strip("/")).strip("_") or "model"


def main() -> None:
    """The console script and `python -m tuner`: launchers may prepend `--local_rank=N`."""
    from tuner.train.distributed import strip_local_rank

    sys.argv[1:] = strip_local_rank(sys.argv[1:])
    app()
