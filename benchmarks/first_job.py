"""``python -m benchmarks.first_job``: a fresh server's first training, with the fork server started when
it is first needed (cold) or a few seconds after the first page view (warm: ``explorer/ui/shell.py``).

Each run is a new Python process, as a fresh ``streamlit run`` is: it loads digits, then (warm) starts the
fork server and waits for it, as a teacher's first page view gives it time to, then times one
:class:`explorer.jobs.TrainingJob` (the Model page's, ae on digits for one epoch) from Train to its first
progress report and to its end. Cold and warm runs alternate; the medians and their ratio are printed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def child(mode: str) -> dict:
    """One fresh process's first training (this module is its ``__main__``, which the fork server preloads)."""
    from explorer import worker
    from explorer.data import load_dataset
    from explorer.jobs import TrainingJob
    from explorer.registry import make_config
    dataset = load_dataset("digits")
    if mode == "warm":
        worker.start_fork_server_in_background(delay_s=0).join()
    started = time.perf_counter()
    job = TrainingJob(dataset, make_config("ae", epochs=1)).start()
    while job.snapshot.progress is None and not job.done:
        time.sleep(0.01)
    first = time.perf_counter() - started
    job.join()
    return {"first_progress_s": first, "end_s": time.perf_counter() - started, "status": job.snapshot.status}


def run(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.first_job", "--child", mode], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_job", description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=("cold", "warm"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return 0
    runs: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        for mode, rows in runs.items():
            rows.append(run(mode))
            print(mode, json.dumps(rows[-1]), flush=True)
    medians = {mode: {key: statistics.median(r[key] for r in rows) for key in ("first_progress_s", "end_s")}
               for mode, rows in runs.items()}
    for mode, median in medians.items():
        print(f"{mode}: Train to first progress {median['first_progress_s']:.2f} s, to the end {median['end_s']:.2f} s "
              f"(median of {args.repeats})")
    ratio = medians["cold"]["first_progress_s"] / medians["warm"]["first_progress_s"]
    print(f"first progress, cold / warm: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
