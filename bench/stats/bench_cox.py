"""Runs lifelines and `salus` on the same generated data and prints times and ratios.

Usage: python bench_cox.py <path to salus binary> "<sizes>"
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter

SALUS = sys.argv[1]
SIZES = [int(s) for s in sys.argv[2].split()]
P = 10


def generate(n, path, seed=42):
    """Exponential times with hazard 0.01 exp(x b), uniform censoring, whole days."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, P))
    beta = np.linspace(-0.1, 0.1, P)
    t = rng.exponential(1.0, n) / (0.01 * np.exp(x @ beta))
    c = rng.uniform(0, 200, n)
    df = pd.DataFrame(x, columns=[f"x{j}" for j in range(P)])
    df["time"] = np.ceil(np.minimum(t, c))
    df["event"] = (t <= c).astype(int)
    df.to_csv(path, index=False, float_format="%.10g")
    return df


def run_salus(args):
    """Runs salus, returning (seconds, parsed JSON, peak RSS in MB via /usr/bin/time)."""
    cmd = [SALUS] + args + ["--json"]
    if os.path.exists("/usr/bin/time"):
        cmd = ["/usr/bin/time", "-v"] + cmd
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    peak = None
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak = int(line.split(":")[1]) / 1024
    return seconds, json.loads(out.stdout), peak


def bench_cox(n, tmp):
    path = os.path.join(tmp, f"cox_{n}.csv")
    df = generate(n, path)
    covs = [f"x{j}" for j in range(P)]
    start = time.perf_counter()
    frame = pd.read_csv(path)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    cph = CoxPHFitter().fit(frame[covs + ["time", "event"]], duration_col="time", event_col="event",
                            fit_options={"precision": 1e-10})
    fit_s = time.perf_counter() - start
    life_s = read_s + fit_s
    salus_s, out, peak = run_salus(["cox", "--data", path, "--time", "time", "--event", "event",
                                    "--covariates", ",".join(covs)])
    ours = {c["name"]: c["coef"] for c in out["coefficients"]}
    diff = max(abs(ours[c] - cph.params_[c]) for c in covs)
    rel = max(abs(ours[c] - cph.params_[c]) / abs(cph.params_[c]) for c in covs)
    print(f"cox n={n:>8} x {P}: lifelines {life_s:8.2f} s (read {read_s:.2f} + fit {fit_s:.2f}), "
          f"salus {salus_s:6.2f} s (incl. CSV read), ratio {life_s / salus_s:6.1f}x "
          f"(fit only {fit_s / salus_s:5.1f}x); max |coef diff| {diff:.2e} (rel {rel:.2e}); "
          f"events {int(df['event'].sum())}; salus peak RSS {peak if peak is None else round(peak)} MB")
    return path


def bench_km(n, path):
    start = time.perf_counter()
    frame = pd.read_csv(path, usecols=["time", "event"])
    kmf = KaplanMeierFitter().fit(frame["time"], frame["event"])
    life_s = time.perf_counter() - start
    salus_s, out, peak = run_salus(["km", "--data", path, "--time", "time", "--event", "event", "--at", "50,100"])
    diff = max(abs(out["groups"][0]["at"][str(t)] - float(kmf.predict(t))) for t in (50, 100))
    print(f"km  n={n:>8}: lifelines {life_s:8.2f} s, salus {salus_s:6.2f} s, ratio {life_s / salus_s:6.1f}x; "
          f"max |S diff| {diff:.2e}; salus peak RSS {peak if peak is None else round(peak)} MB")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        for n in SIZES:
            path = bench_cox(n, tmp)
            if n == max(SIZES):
                bench_km(n, path)
    print("python peak RSS (lifelines side) %.0f MB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


if __name__ == "__main__":
    main()
