"""Runs smartnoise-synth (MST, AIM) and `salus synth fit` + `sample` on the same data at
several epsilons, several runs each, and prints 1/2/3-way TVD (all columns compared as
categories, the same code for both tools) and wall time, with the speed ratio.

smartnoise draws its noise through OpenDP's own RNG and cannot be seeded, so its "seeds" are
independent repetitions; salus runs use --seed 1..runs. Both tools get delta = 1e-9 and
treat every column as categorical with categories read from the data (salus: --categorical
age), so the comparison is like for like.
"""
import argparse
import itertools
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def tvd(real, synth, k):
    values = []
    for cols in itertools.combinations(real.columns, k):
        cols = list(cols)
        p = real.groupby(cols).size() / len(real)
        q = synth.groupby(cols).size() / len(synth)
        values.append(0.5 * p.sub(q, fill_value=0).abs().sum())
    return float(np.mean(values))


def scores(real, synth):
    synth = synth[real.columns].astype(str)
    return {f"tvd_{k}way": tvd(real, synth, k) for k in (1, 2, 3)}


def smartnoise_worker(method, epsilon, data, queue):
    import warnings
    warnings.filterwarnings("ignore")
    from snsynth import Synthesizer
    df = pd.read_csv(data, sep=";", dtype=str)
    start = time.time()
    synth = Synthesizer.create(method, epsilon=float(epsilon), delta=1e-9)
    synth.fit(df, categorical_columns=list(df.columns), preprocessor_eps=0.0)
    sample = synth.sample(len(df))
    seconds = time.time() - start
    sample = pd.DataFrame(sample, columns=df.columns)
    queue.put((seconds, sample.to_dict(orient="list")))


def run_smartnoise(method, epsilon, data, timeout):
    queue = mp.Queue()
    proc = mp.Process(target=smartnoise_worker, args=(method, epsilon, data, queue))
    proc.start()
    try:
        seconds, sample = queue.get(timeout=timeout)
    except Exception:
        proc.kill()
        return None, None
    proc.join()
    return seconds, pd.DataFrame(sample)


def run_salus(binary, method, epsilon, seed, data, rows):
    with tempfile.TemporaryDirectory() as tmp:
        model, out = os.path.join(tmp, "model.json"), os.path.join(tmp, "synth.csv")
        start = time.time()
        subprocess.run([binary, "synth", "fit", "--data", data, "--delimiter", ";", "--epsilon", str(epsilon),
                        "--delta", "1e-9", "--method", method, "--categorical", "age", "--seed", str(seed),
                        "--out", model, "--json"], check=True, capture_output=True)
        subprocess.run([binary, "synth", "sample", "--model", model, "--rows", str(rows), "--seed", str(seed),
                        "--out", out], check=True, capture_output=True)
        seconds = time.time() - start
        return seconds, pd.read_csv(out, sep=";", dtype=str, keep_default_na=False)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--salus", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epsilons", default="0.3 1 3")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--methods", default="mst aim")
    parser.add_argument("--peer-runs", type=int, default=None, help="runs of the peer (default: --runs)")
    parser.add_argument("--peer-timeout", type=float, default=1800.0, help="seconds before a peer run is abandoned")
    args = parser.parse_args()
    real = pd.read_csv(args.data, sep=";", dtype=str, keep_default_na=False)
    results = []
    for method in args.methods.split():
        for epsilon in [float(e) for e in args.epsilons.split()]:
            for run in range(1, args.runs + 1):
                seconds, synth = run_salus(args.salus, method, epsilon, run, args.data, len(real))
                results.append({"tool": "salus", "method": method, "epsilon": epsilon, "run": run,
                                "seconds": seconds, **scores(real, synth)})
                print(json.dumps(results[-1]), flush=True)
            peer_runs = args.runs if args.peer_runs is None else args.peer_runs
            for run in range(1, peer_runs + 1):
                seconds, synth = run_smartnoise(method, epsilon, args.data, args.peer_timeout)
                row = {"tool": "smartnoise-synth", "method": method, "epsilon": epsilon, "run": run, "seconds": seconds}
                if synth is None:
                    row["error"] = f"no result within {args.peer_timeout} s"
                else:
                    row.update(scores(real, synth))
                results.append(row)
                print(json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    summarise(results)


def summarise(results):
    df = pd.DataFrame([r for r in results if "tvd_2way" in r])
    print("\n| method | epsilon | tool | runs | TVD 1-way | TVD 2-way (mean ± sd) | TVD 3-way | seconds (mean) |")
    print("|---|---|---|---|---|---|---|---|")
    for (method, epsilon, tool), g in df.groupby(["method", "epsilon", "tool"]):
        print(f"| {method} | {epsilon} | {tool} | {len(g)} | {g.tvd_1way.mean():.4f} | "
              f"{g.tvd_2way.mean():.4f} ± {g.tvd_2way.std(ddof=1) if len(g) > 1 else 0:.4f} | "
              f"{g.tvd_3way.mean():.4f} | {g.seconds.mean():.2f} |")
    print("\n| method | epsilon | speed-up (peer s / salus s) | 2-way TVD salus / peer |")
    print("|---|---|---|---|")
    for (method, epsilon), g in df.groupby(["method", "epsilon"]):
        s, p = g[g.tool == "salus"], g[g.tool == "smartnoise-synth"]
        if len(s) and len(p):
            print(f"| {method} | {epsilon} | {p.seconds.mean() / s.seconds.mean():.1f}x | "
                  f"{s.tvd_2way.mean() / p.tvd_2way.mean():.2f} |")


if __name__ == "__main__":
    main()
