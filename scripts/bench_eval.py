"""Scoring speed and agreement: tuner vs lm-evaluation-harness on the same items and model.

    python scripts/bench_eval.py                      # india_recall English items, mc_loglik and mc_letter, 0 and 5 shots
    python scripts/bench_eval.py --limit 200 --modes mc_loglik --shots 0 --batch-sizes 32,auto

Each run is a fresh process (whole-process time is measured by this script from spawn to exit):
`tuner eval` with an empty result store, and `lm_eval` over a task defined on the same local file,
at each batch size given (the best is the peer). Scoring time is the time each tool spends in its
scoring calls: tuner's own `timing.scoring_s`; for lm-eval, the time inside `HFLM.loglikelihood`,
measured by a small wrapper that runs lm-eval's `simple_evaluate` in the child process. Agreement is
the share of items where both predict the same option under the raw log-likelihood (lm-eval `acc`).

With k shots both tools show every item the same k answered items (tuner's fixed shots; lm-eval's
`first_n` sampler over a copy of the file that lists them first, which drops the item itself just
as tuner does), so the prompts are identical text.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LETTERS = "ABCD"

LM_EVAL_WORKER = textwrap.dedent(
    """
    import json, sys, time
    from lm_eval import evaluator
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    task_dir, task, model_dir, batch, out = sys.argv[1:6]
    spent = [0.0]
    original = HFLM.loglikelihood

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            spent[0] += time.perf_counter() - t0

    HFLM.loglikelihood = timed
    res = evaluator.simple_evaluate(
        model="hf", model_args=f"pretrained={model_dir},dtype=float32,device=cpu",
        tasks=[task], batch_size=batch, task_manager=TaskManager(include_path=task_dir), log_samples=True,
    )
    samples = res["samples"][task]
    preds = {str(s["doc"]["id"]): max(range(len(s["filtered_resps"])), key=lambda i: s["filtered_resps"][i][0]) for s in samples}
    contexts = {str(s["doc"]["id"]): s["arguments"][0][0] for s in samples}
    json.dump({"scoring_s": spent[0], "preds": preds, "contexts": contexts, "acc": res["results"][task]["acc,none"]}, open(out, "w"))
    """
)


def write_inputs(work: Path, limit: int) -> Path:
    rows = [json.loads(x) for x in (ROOT / "eval/probes/india_recall/items.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["lang"] == "en"][:limit]
    data = work / "items_en.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return data


def shots_first(work: Path, data: Path, spec: Path, shots: int) -> Path:
    """A copy of the items with tuner's k+1 drawn shots first, in the order drawn: lm-eval's
    `first_n` sampler then gives every item the shots tuner gives it."""
    from tuner.evals.loaders import load_items
    from tuner.evals.prompts import draw_shots
    from tuner.evals.spec import load_spec

    bench = load_spec(str(spec))
    drawn = [it.id for it in draw_shots(load_items(bench), "en", shots, bench.id)]
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    rows.sort(key=lambda r: drawn.index(str(r["id"])) if str(r["id"]) in drawn else len(drawn))
    ordered = work / f"items_en_{shots}shots.jsonl"
    ordered.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return ordered


def tuner_spec(work: Path, data: Path, mode: str, shots: int) -> Path:
    spec = {
        "id": f"bench_{mode}", "version": 1, "description": "benchmark copy of india_recall (English)",
        "source": {"path": str(data), "origin": "india_recall", "license": "Apache-2.0"},
        "languages": ["en"], "scoring": mode, "metric": "acc",
        "prompts": {"en": {"loglik": "Question: {question}\nAnswer:", "letter": "Question: {question}\n{options}\nAnswer:"}},
    }
    path = work / f"bench_{mode}_{shots}shots.yaml"
    path.write_text(json.dumps(spec))
    return path


def lm_eval_task(work: Path, data: Path, mode: str, shots: int) -> str:
    name = f"tunerbench_{mode}_{shots}shots"
    if mode == "mc_loglik":
        text, choice = "Question: {{question}}\\nAnswer:", "{{choices}}"
    else:
        opts = "\\n".join(f"{L}. {{{{choices[{i}]}}}}" for i, L in enumerate(LETTERS))
        text, choice = f"Question: {{{{question}}}}\\n{opts}\\nAnswer:", json.dumps(list(LETTERS))
    (work / "tasks").mkdir(exist_ok=True)
    (work / "tasks" / f"{name}.yaml").write_text(textwrap.dedent(f"""\
        task: {name}
        dataset_path: json
        dataset_kwargs:
          data_files:
            test: {data}
        test_split: test
        output_type: multiple_choice
        doc_to_text: "{text}"
        doc_to_choice: '{choice}'
        doc_to_target: answer
        num_fewshot: {shots}
        fewshot_split: test
        fewshot_config:
          sampler: first_n
        metric_list:
          - metric: acc
        """))
    return name


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def tuner_contexts(spec: Path, shots: int) -> dict[str, str]:
    """The text tuner's engine reads for each item, to check both tools are shown the same prompts."""
    from tuner.evals.loaders import load_items
    from tuner.evals.prompts import Variant, build_prompt, pick_shots
    from tuner.evals.spec import load_spec

    bench = load_spec(str(spec))
    items = load_items(bench)
    variant = Variant("en", shots=shots).resolved(bench)
    picked = pick_shots(items, items, shots, bench.id)
    return {it.id: build_prompt(it, bench, variant, s, None).context for it, s in zip(items, picked, strict=True)}


def run_tuner(work: Path, spec: Path, mode: str, shots: int, env: dict[str, str]) -> dict:
    home = work / f"home_{mode}_{shots}shots"
    home.mkdir()
    # The prepared model is shared; the result store starts empty so every item is really scored.
    (home / "models").symlink_to(Path(env.get("TUNER_HOME", Path.home() / ".cache/tuner")).expanduser() / "models")
    out = work / f"tuner_{mode}_{shots}shots"
    wall = timed([sys.executable, "-m", "tuner", "eval", "smollm2-135m-instruct", "--suite", str(spec), "--variant", f"en+shots={shots}",
                  "--out", str(out)],
                 {**env, "TUNER_HOME": str(home)})
    res = json.loads((out / "results.json").read_text())
    preds = {}
    for line in (out / "items.jsonl").read_text().splitlines():
        r = json.loads(line)
        scores = r["scores"]["sum"] if mode == "mc_loglik" else r["scores"]["logprob"]
        preds[r["id"]] = max(range(len(scores)), key=scores.__getitem__)
    return {"wall_s": wall, "scoring_s": res["timing"]["scoring_s"], "preds": preds, "acc": res["benchmarks"][0]["overall"]["accuracy"]}


def run_lm_eval(work: Path, task: str, batch: str, env: dict[str, str], model_dir: Path) -> dict:
    worker = work / "lm_eval_worker.py"
    worker.write_text(LM_EVAL_WORKER)
    out = work / f"lm_eval_{task}_{batch}.json"
    wall = timed([sys.executable, str(worker), str(work / "tasks"), task, str(model_dir), batch, str(out)], env)
    return {"wall_s": wall, **json.loads(out.read_text())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=420, help="English items of india_recall to score")
    parser.add_argument("--modes", default="mc_loglik,mc_letter")
    parser.add_argument("--shots", default="0,5", help="few-shot counts to compare at (the same shots in both tools)")
    parser.add_argument("--batch-sizes", default="1,8,32,auto")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from tuner.models import prepare_embedded

    model_dir = prepare_embedded("smollm2-135m-instruct")
    env = {**os.environ, "TUNER_NUM_THREADS": str(args.threads), "OMP_NUM_THREADS": str(args.threads),
           "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = write_inputs(work, args.limit)
        n = args.limit
        for mode in args.modes.split(","):
            for shots in map(int, args.shots.split(",")):
                spec = tuner_spec(work, data, mode, shots)
                tuner = run_tuner(work, spec, mode, shots, env)
                task = lm_eval_task(work, shots_first(work, data, spec, shots) if shots else data, mode, shots)
                peers = {b: run_lm_eval(work, task, b, env, model_dir) for b in args.batch_sizes.split(",")}
                best_b = min(peers, key=lambda b: peers[b]["scoring_s"])
                best = peers[best_b]
                agree = sum(tuner["preds"][k] == v for k, v in best["preds"].items()) / len(best["preds"])
                same_text = sum(best["contexts"][k] == v for k, v in tuner_contexts(spec, shots).items()) / n
                print(f"\n== {mode}, {shots} shots: {n} items, {args.threads} threads ==")
                print(f"{'run':22} {'scoring s':>10} {'process s':>10} {'items/s':>9} {'accuracy':>9}")
                print(f"{'tuner':22} {tuner['scoring_s']:>10.2f} {tuner['wall_s']:>10.2f} {n / tuner['scoring_s']:>9.1f} {tuner['acc']:>9.3f}")
                for b, r in peers.items():
                    print(f"{'lm-eval batch ' + b:22} {r['scoring_s']:>10.2f} {r['wall_s']:>10.2f} {n / r['scoring_s']:>9.1f} {r['acc']:>9.3f}")
                print(f"speed-up vs lm-eval's best (batch {best_b}): scoring {best['scoring_s'] / tuner['scoring_s']:.2f}x, "
                      f"whole process {best['wall_s'] / tuner['wall_s']:.2f}x; same prediction on {agree:.1%} of items, "
                      f"identical prompt text on {same_text:.1%}", flush=True)


if __name__ == "__main__":
    main()
