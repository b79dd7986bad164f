"""Audio data recipes: does a model trained on the embedded (synthetic) data hold on REAL recordings?

For a run directory (or a model trained here for a FIXED number of steps, never a time cap,
so results do not depend on the machine's load) this measures, against the non-learned
resize-and-quantise baseline codec, in the same process:

- the embedded test split (clean eSpeak words of held-out voices): the analyzer's own
  ``evaluate_compressor`` (dB RMSE, active-cell dB, codes used, entropy, Spearman);
- every real recording installed by ``benchmarks/install_real_recordings.sh DIR``, cut into
  1 s windows (hop 1 s, digital-silence windows skipped): on the model input (log-mel in,
  log-mel out) and end to end (WAV -> encode -> decode -> Griffin-Lim -> 16-bit WAV ->
  re-read -> log-mel, against the input's log-mel), per source and pooled.

``pyannote-audio`` is reported but left out of the pooled "selection" figures: recipes were
chosen without looking at it, so it stays an honest held-out check.

    python benchmarks/install_real_recordings.sh /tmp/real
    nice -n 10 python benchmarks/audio_data_recipe.py --real /tmp/real --train runs/r1 --steps 4000
    python benchmarks/audio_data_recipe.py --real /tmp/real --run runs/r1          # evaluate again
    python benchmarks/audio_data_recipe.py --table runs/r1 runs/r2                 # the markdown table
    nice -n 10 python benchmarks/audio_data_recipe.py --real /tmp/real --ablation runs/recipes --steps 3000

``--ablation OUT`` trains one run per row of ``RECIPES`` (each ingredient added to the one
before, then the default recipe with each ingredient it leaves out) into ``OUT/<row>`` and
prints the recipe table of docs/audio.md; a row already evaluated there is not trained again.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HELD_OUT_SOURCES = ("pyannote-audio",)
_INGREDIENTS = ("noise", "gain", "band", "reverb", "babble")  # the default recipe, in the order the table adds them
#: table row -> overrides of the default config: the data recipe grown one ingredient at a time.
RECIPES: dict[str, tuple[str, ...]] = {
    "1 words only": ("modality.phrases=0", "modality.augment=[]", "modality.augment_copies=0"),
    "2 + sentences": ("modality.augment=[]", "modality.augment_copies=0"),
    **{f"{3 + i} + {name}": (f"modality.augment={json.dumps(_INGREDIENTS[:i + 1])}",)
       for i, name in enumerate(_INGREDIENTS)},
    **{f"{8 + i} default + {name}": (f"modality.augment={json.dumps(_INGREDIENTS + (name,))}",)
       for i, name in enumerate(("narrowband", "loud", "file_end"))},
}
RESULT_FILE = "real_recordings_eval.json"


def train(out: Path, steps: int, overrides: list[str], seed: int) -> Path:
    """Train ``audio_puzzle`` for exactly ``steps`` steps (no time cap) on one thread."""
    from sage_core.training import TrainingRequest, train

    limits = ("train.max_minutes=null",)
    request = TrainingRequest("audio_puzzle", overrides=(*overrides, *limits), out=out, max_steps=steps, seed=seed,
                              threads=1, progress="log")
    return train(request).run_dir


def real_windows(root: Path) -> dict[str, tuple]:
    """``{source: (waveforms (W, 16000), log-mel (W, 1, 128, 32))}`` of every speech recording."""
    import torch

    from sage_audio_puzzle.frontend import log_mel_db, read_audio, windows
    from sage_audio_puzzle.real_recordings import list_real_recordings

    found: dict[str, list] = {}
    for recording in list_real_recordings(root, speech_only=True):
        audio = windows(read_audio(recording.path), 1.0)
        audio = audio[audio.abs().amax(1) > 0]  # digital silence carries nothing to code
        found.setdefault(recording.source, []).append(audio)
    result = {}
    for source, parts in found.items():
        waveforms = torch.cat(parts)
        result[source] = (waveforms, log_mel_db(waveforms))
    return result


def round_trip_wav(waveforms) -> "torch.Tensor":
    """``(W, 16000)`` -> written as one 16-bit WAV, read back, cut into the same windows -> log-mel."""
    from sage_audio_puzzle.frontend import log_mel_db, read_audio, windows
    from sage_audio_puzzle.synthesis import join_windows, write_wav

    with tempfile.TemporaryDirectory() as tmp:
        path = write_wav(join_windows(waveforms, 1.0), Path(tmp) / "decoded.wav")
        return log_mel_db(windows(read_audio(path), 1.0))


def real_metrics(model, windows_by_source: dict[str, tuple]) -> dict[str, dict[str, float]]:
    """Per source: model and baseline dB RMSE / active dB on the model input and end to end."""
    import torch

    from sage_audio_puzzle import metrics
    from sage_audio_puzzle.synthesis import griffin_lim

    rows = {}
    with torch.no_grad():
        for source, (_, x) in windows_by_source.items():
            codecs = {"model": model.decode_codes(model.encode_codes(x)), "baseline": metrics.baseline_codec(x)[1],
                      "input": x}
            row: dict[str, float] = {"windows": len(x)}
            for name, x_hat in codecs.items():
                if name != "input":
                    m = metrics.reconstruction_metrics(x, x_hat)
                    row[f"{name}_db"] = float(m["logmel_db_rmse"].mean())
                    row[f"{name}_active_db"] = float(m["active_db_rmse"].mean())
                e2e = metrics.reconstruction_metrics(x, round_trip_wav(griffin_lim(x_hat)))
                row[f"{name}_e2e_db"] = float(e2e["logmel_db_rmse"].mean())
                row[f"{name}_e2e_active_db"] = float(e2e["active_db_rmse"].mean())
            rows[source] = row
    return rows


def pooled(rows: dict[str, dict[str, float]], sources: list[str]) -> dict[str, float]:
    """Window-weighted means of every figure over ``sources``."""
    total = sum(rows[s]["windows"] for s in sources)
    keys = [k for k in rows[sources[0]] if k != "windows"]
    out = {k: sum(rows[s][k] * rows[s]["windows"] for s in sources) / total for k in keys}
    out["windows"] = total
    return out


def evaluate(run: Path, real_root: Path) -> dict:
    """Everything for one run; written to ``run/real_recordings_eval.json`` too."""
    from sage_core import DataReport, TensorListDataset, cache_dir
    from sage_core.analysis.evaluate import evaluate_compressor
    from sage_core.runs import load_compressor

    trained, untrained = load_compressor(run, "best"), load_compressor(run, "untrained")
    test = trained.modality.build_datasets(None, cache_dir(), DataReport()).test
    embedded, _ = evaluate_compressor(trained, untrained, test)
    windows = real_windows(real_root)
    rows = real_metrics(trained, windows)
    selection = [s for s in rows if s not in HELD_OUT_SOURCES]
    import torch

    real_all = torch.cat([x for _, x in windows.values()])
    real_codes, _ = evaluate_compressor(trained, untrained, TensorListDataset(real_all))
    summary = json.loads((run / "summary.json").read_text()) if (run / "summary.json").exists() else {}
    result = {
        "run": str(run),
        "steps": summary.get("steps"),
        "train_samples_per_s": summary.get("train_samples_per_s"),
        "embedded": {"model_db": embedded["models"]["trained"]["recon"]["logmel_db_rmse"],
                     "baseline_db": embedded["models"]["baseline"]["recon"]["logmel_db_rmse"],
                     "model_active_db": embedded["models"]["trained"]["recon"]["active_db_rmse"],
                     "codes_used": embedded["models"]["trained"]["codes_used"],
                     "entropy_bits": embedded["models"]["trained"]["entropy_bits"],
                     "spearman": embedded["models"]["trained"]["code_order_spearman"],
                     "encode_ms": embedded.get("encode_latency_ms")},
        "real_codes": {k: real_codes["models"]["trained"][k] for k in ("codes_used", "entropy_bits", "code_order_spearman")},
        "sources": rows,
        "selection": pooled(rows, selection),
        "held_out": pooled(rows, [s for s in rows if s in HELD_OUT_SOURCES]) if set(rows) & set(HELD_OUT_SOURCES) else None,
        "all": pooled(rows, list(rows)),
    }
    (run / RESULT_FILE).write_text(json.dumps(result, indent=2))
    return result


def ratio(row: dict, key: str) -> float:
    return row[f"model_{key}"] / row[f"baseline_{key}"]


def report(result: dict) -> str:
    """Per-source table plus the headline ratios of one run."""
    e = result["embedded"]
    lines = [f"run {result['run']}  steps {result['steps']}",
             f"embedded test: model {e['model_db']:.3f} dB, baseline {e['baseline_db']:.3f} dB, "
             f"ratio {e['model_db'] / e['baseline_db']:.3f}; codes {e['codes_used']}, "
             f"{e['entropy_bits']:.2f} bits, Spearman {e['spearman']:.3f}",
             f"real windows: codes {result['real_codes']['codes_used']}, {result['real_codes']['entropy_bits']:.2f} bits, "
             f"Spearman {result['real_codes']['code_order_spearman']:.3f}",
             "", "| source | windows | model dB | baseline dB | ratio | active model / baseline | e2e model | e2e baseline "
             "| e2e ratio | e2e of the input itself |", "|---|---|---|---|---|---|---|---|---|---|"]
    named = dict(result["sources"])
    named["SELECTION (pooled)"] = result["selection"]
    if result["held_out"]:
        named["held out: pyannote-audio"] = result["held_out"]
    named["ALL (pooled)"] = result["all"]
    for source, r in named.items():
        lines.append(f"| {source} | {r['windows']} | {r['model_db']:.2f} | {r['baseline_db']:.2f} | {ratio(r, 'db'):.3f} "
                     f"| {r['model_active_db']:.2f} / {r['baseline_active_db']:.2f} | {r['model_e2e_db']:.2f} "
                     f"| {r['baseline_e2e_db']:.2f} | {ratio(r, 'e2e_db'):.3f} | {r['input_e2e_db']:.2f} |")
    return "\n".join(lines)


def table(runs: list[Path]) -> str:
    """One markdown row per run (its stored results): the recipe table of docs/audio.md."""
    lines = ["| run | steps | embedded dB (ratio) | real dB, model input (ratio) | real dB, end to end (ratio) "
             "| worst source ratio | held out: pyannote (ratio, e2e ratio) | codes / bits / Spearman |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        r = json.loads((run / RESULT_FILE).read_text())
        e, s, h = r["embedded"], r["selection"], r["held_out"]
        worst = max((ratio(row, "db"), name) for name, row in r["sources"].items() if name not in HELD_OUT_SOURCES)
        held = f"{h['model_db']:.2f} ({ratio(h, 'db'):.3f}, {ratio(h, 'e2e_db'):.3f})" if h else "-"
        lines.append(f"| {run.name} | {r['steps']} | {e['model_db']:.3f} ({e['model_db'] / e['baseline_db']:.3f}) "
                     f"| {s['model_db']:.2f} ({ratio(s, 'db'):.3f}) | {s['model_e2e_db']:.2f} ({ratio(s, 'e2e_db'):.3f}) "
                     f"| {worst[0]:.3f} {worst[1]} | {held} "
                     f"| {e['codes_used']} / {e['entropy_bits']:.2f} / {e['spearman']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, help="the install script's DIR")
    parser.add_argument("--run", type=Path, help="evaluate this run directory")
    parser.add_argument("--train", type=Path, metavar="OUT", help="train a model into OUT first, then evaluate it")
    parser.add_argument("--steps", type=int, default=4000, help="training steps (fixed; no time cap)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--table", nargs="+", type=Path, metavar="RUN", help="print the recipe table of these runs")
    parser.add_argument("--ablation", type=Path, metavar="OUT", help="train and evaluate every row of RECIPES into OUT")
    parser.add_argument("--rows", type=lambda v: {int(n) for n in v.split(",")}, metavar="N,N",
                        help="with --ablation: only these rows (run two processes on two cores)")
    args = parser.parse_args()
    if args.table:
        print(table(args.table))
        return
    if args.ablation:
        if args.real is None:
            parser.error("--ablation needs --real DIR")
        runs = []
        for row, overrides in RECIPES.items():
            if args.rows and int(row.split()[0]) not in args.rows:
                continue
            run = args.ablation / row.replace(" ", "_").replace("+", "plus")
            if not (run / RESULT_FILE).exists():
                print(f"== {row}: {' '.join(overrides)}", flush=True)
                evaluate(train(run, args.steps, [*overrides, *args.overrides], args.seed), args.real)
            runs.append(run)
        print(table(runs))
        return
    if args.real is None or (args.run is None) == (args.train is None):
        parser.error("give --real DIR and exactly one of --run RUN or --train OUT")
    run = args.run or train(args.train, args.steps, args.overrides, args.seed)
    print(report(evaluate(run, args.real)))


if __name__ == "__main__":
    sys.exit(main())
