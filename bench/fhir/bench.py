"""FHIR bundles -> tables: `salus import fhir` (release) against fhiry + pandas,
on the same replicated Synthea bundles, one process each, wall time and peak
memory (RSS) measured with /usr/bin/time.

Usage (from the repository root):
    python3 bench/fhir/bench.py [--sizes 250,1000] [--peer-sizes 250,1000] [--work DIR]

Creates its own venv (fhiry from PyPI) and data under --work (a temp dir by
default; nothing is committed), builds salus-cli in release mode, prints one
line per run and the speed ratio at each size both tools ran.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SOURCE = os.path.join(ROOT, "crates/salus-fhir/tests/data/fhir-r4/synthea-bundles")
FHIRY = "fhiry==5.2.2"


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def timed(cmd):
    """Runs cmd under /usr/bin/time; returns (seconds, peak RSS in MB)."""
    res = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M"] + cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    line = [l for l in res.stderr.splitlines() if l.startswith("TIME ")][-1]
    _, secs, kb = line.split()
    return float(secs), int(kb) / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="250,1000", help="input sizes in MB for salus")
    ap.add_argument("--peer-sizes", default="250,1000", help="input sizes in MB for the Python peer")
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="salus-fhir-bench-")
    os.makedirs(work, exist_ok=True)
    venv = os.path.join(work, "venv")
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        run([sys.executable, "-m", "venv", venv])
        run([os.path.join(venv, "bin", "pip"), "install", "-q", FHIRY])
    env = dict(os.environ)
    env.setdefault("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    run(["cargo", "build", "--release", "-p", "salus-cli"], cwd=ROOT, env=env)
    salus = os.path.join(env["CARGO_TARGET_DIR"], "release", "salus")
    sizes = sorted({int(s) for s in args.sizes.split(",")} | {int(s) for s in args.peer_sizes.split(",")})
    peer_sizes = {int(s) for s in args.peer_sizes.split(",")}
    salus_sizes = {int(s) for s in args.sizes.split(",")}
    results = {}
    for mb in sizes:
        data = os.path.join(work, f"data-{mb}MB")
        if not os.path.isdir(data):
            run([sys.executable, os.path.join(HERE, "make_data.py"), SOURCE, data, str(mb)])
        actual = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data)) / 1e6
        if mb in salus_sizes:
            out = os.path.join(work, f"salus-out-{mb}")
            t, m = timed([salus, "import", "fhir", "--in", data, "--views", "builtin", "--out", out,
                          "--reference-date", "2020-01-01", "--json"])
            results[(mb, "salus")] = (t, m)
            print(f"salus  {actual:7.0f} MB  {t:8.1f} s  {actual / t:7.1f} MB/s  peak {m:7.0f} MB", flush=True)
        if mb in peer_sizes:
            out = os.path.join(work, f"fhiry-{mb}.csv")
            t, m = timed([os.path.join(venv, "bin", "python"), os.path.join(HERE, "peer_fhiry.py"), data, out])
            results[(mb, "fhiry")] = (t, m)
            print(f"fhiry  {actual:7.0f} MB  {t:8.1f} s  {actual / t:7.1f} MB/s  peak {m:7.0f} MB", flush=True)
        if (mb, "salus") in results and (mb, "fhiry") in results:
            ratio = results[(mb, "fhiry")][0] / results[(mb, "salus")][0]
            print(f"ratio at {mb} MB: salus is {ratio:.1f}x faster", flush=True)


if __name__ == "__main__":
    main()
