"""Training curves from runs' ``log.jsonl``: chosen scalars against the training step, one panel each.

    python benchmarks/training_curves.py runs/weak-cpu --keys recovery_mae_lvm,recovery_mae \\
        --output docs/images/weak-recovery.png [--title TEXT]

Every run folder given is drawn in each panel (its folder name is the legend); a key a run did not log is
left out of its panel. The figure is written atomically. TensorBoard shows the same scalars interactively
(``tensorboard --logdir RUN/tensorboard``); this script makes the picture that goes into the docs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gensal import io

LABELS = {
    "recovery_mae_lvm": "MAE of G's recovery Y^' vs full masks",
    "recovery_mae": "MAE of the revised recovery Y~' vs full masks",
    "recovery_scribble_agreement": "agreement of Y~' with the scribbles",
    "mae_proposal": "MAE of the proposal Y^ vs the data",
    "mae_revised": "MAE of the revised sample Y~ vs the data",
}


def read_log(run: Path) -> list[dict]:
    """The records of ``run/log.jsonl``; a one-line error if it is missing or unreadable."""
    path = run / "log.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: not found (is {run} a training run folder?)")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"{path}:{number}: unreadable line skipped", file=sys.stderr)
    if not records:
        raise SystemExit(f"{path}: no records")
    return records


def draw(runs: dict[str, list[dict]], keys: list[str], output: Path, title: str | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, records in runs.items():
            points = [(r["step"], r[key]) for r in records if key in r]
            if points:
                steps, values = zip(*points, strict=True)
                ax.plot(steps, values, label=name, linewidth=1.2)
        ax.set_title(LABELS.get(key, key), fontsize=9)
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
        if len(runs) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    io.save_figure(fig, output, dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="training run folders (with log.jsonl)")
    parser.add_argument("--keys", required=True, help="comma-separated scalars of log.jsonl")
    parser.add_argument("--output", required=True, help="PNG to write")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    runs = {Path(run).name: read_log(Path(run)) for run in args.runs}
    keys = [key.strip() for key in args.keys.split(",") if key.strip()]
    missing = [key for key in keys if not any(key in r for records in runs.values() for r in records)]
    if missing:
        raise SystemExit(f"no run logged {', '.join(missing)}")
    draw(runs, keys, Path(args.output), args.title)
    for name, records in runs.items():
        last = records[-1]
        values = ", ".join(f"{key} {last[key]:.4f}" for key in keys if key in last)
        print(f"{name}: step {last['step']}: {values}")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
