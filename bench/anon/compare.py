"""Runs Salus and the Python peers on the same Adult data and prints the ratios.

Called by bench/anon/run.sh with: <salus binary> <repo root> <work dir>.
"""
import json
import subprocess
import sys
import time

import pandas as pd
from pycanon import anonymity

SALUS, ROOT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
DATA = f"{ROOT}/examples/anonymize/adult.csv"
QI8 = ["sex", "age", "race", "marital-status", "education", "native-country", "workclass", "salary-class"]
QI9 = QI8[:7] + ["occupation"] + QI8[7:]


def timed(cmd, repeat=5):
    """Best wall time of `repeat` runs, and the last run's stdout."""
    best, out = float("inf"), ""
    for _ in range(repeat):
        t = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        best = min(best, time.perf_counter() - t)
    return best, out


def config(name, body, qis):
    path = f"{WORK}/{name}.toml"
    hier = "\n".join(
        f'[[quasi_identifiers]]\nname = "{q}"\nhierarchy = "{ROOT}/examples/anonymize/adult_hierarchy_{q}.csv"\n'
        for q in qis
    )
    with open(path, "w") as f:
        f.write('delimiter = ";"\n' + body + "\n" + hier)
    return path


CASES = {
    "k5_loss_100pct_9qi": ('suppression_limit = 1.0\n[[models]]\ntype = "k_anonymity"\nk = 5\n', QI9, None),
    "k5_0pct_8qi": ('suppression_limit = 0.0\n[[models]]\ntype = "k_anonymity"\nk = 5\n', QI8, None),
    "k5_rcl43_t02_0pct_8qi": (
        'suppression_limit = 0.0\n[[models]]\ntype = "k_anonymity"\nk = 5\n'
        '[[models]]\ntype = "recursive_cl_diversity"\nattribute = "occupation"\nc = 4.0\nl = 3\n'
        '[[models]]\ntype = "equal_distance_t_closeness"\nattribute = "occupation"\nt = 0.2\n',
        QI8,
        "occupation",
    ),
}

raw = pd.read_csv(DATA, sep=";")
print(f"{'case':<26}{'salus s':>10}{'search ms':>11}{'k (pycanon)':>13}{'l':>4}{'t':>8}")
for name, (body, qis, sensitive) in CASES.items():
    cfg = config(name, body, qis)
    out, rep = f"{WORK}/{name}.csv", f"{WORK}/{name}.json"
    seconds, _ = timed([SALUS, "anonymize", "--data", DATA, "--config", cfg, "--out", out, "--report", rep], repeat=3)
    report = json.load(open(rep))
    released = pd.read_csv(out, dtype=str)
    k = anonymity.k_anonymity(released, qis)
    assert k >= 5 and k == report["k"], (k, report["k"])
    l = t = "-"
    if sensitive:
        l = anonymity.l_diversity(released, qis, [sensitive])
        t = round(anonymity.t_closeness(released, qis, [sensitive]), 4)
    stderr = subprocess.run([SALUS, "anonymize", "--data", DATA, "--config", cfg, "--out", out, "--report", rep],
                            check=True, capture_output=True, text=True).stderr
    search_ms = stderr.split("search ")[1].split(" ms")[0]
    print(f"{name:<26}{seconds:>10.3f}{search_ms:>11}{k:>13}{l:>4}{t:>8}   {report['transformation']}")

# k of the raw table: pycanon vs salus risk.
t0 = time.perf_counter()
k_py = anonymity.k_anonymity(raw, QI9)
py = time.perf_counter() - t0
rs, out = timed([SALUS, "risk", "--data", DATA, "--delimiter", ";", "--qi", ",".join(QI9), "--json"])
k_rs = json.loads(out)["k"]
assert k_py == k_rs, (k_py, k_rs)
print(f"\nk of raw Adult (9 QIs) = {k_rs}: pycanon {py:.3f} s (in-process), salus risk {rs:.3f} s (whole process, "
      f"incl. population models); ratio pycanon/salus = {py / rs:.1f}")

# Mondrian (anonypy) vs Salus optimal search, k = 5, 8 QIs + occupation as sensitive.
try:
    import anonypy

    df = raw.copy()
    for c in QI8 + ["occupation"]:
        if df[c].dtype == object:
            df[c] = df[c].astype("category")
    t0 = time.perf_counter()
    p = anonypy.Preserver(df, QI8, "occupation")
    rows = p.anonymize_k_anonymity(k=5)
    mondrian = time.perf_counter() - t0
    salus, _ = timed([SALUS, "anonymize", "--data", DATA, "--config", config("k5_0pct_8qi_m", CASES["k5_0pct_8qi"][0], QI8),
                      "--out", f"{WORK}/m.csv", "--report", f"{WORK}/m.json"], repeat=3)
    print(f"anonypy Mondrian k=5: {mondrian:.3f} s ({len(rows)} groups) vs salus anonymize k=5 (optimal, "
          f"end to end): {salus:.3f} s; ratio anonypy/salus = {mondrian / salus:.1f}")
except Exception as e:  # anonypy is optional: report why it did not run
    print(f"anonypy not run: {e}")
