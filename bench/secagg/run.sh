#!/usr/bin/env bash
# Side-by-side benchmark: Flower's SecAgg+ (flwr from PyPI, its own protocol code, in one
# process) against `salus bench secagg` on the same number of clients, vector length,
# dropout rate and SecAgg+ graph (each client shares with 4*ceil(log2 n) neighbours, a
# majority of the degree+1 holders is needed to reconstruct). Prints both results and the
# ratios of wall time and of CPU time (user + system, which stays meaningful on a loaded
# machine). Usage: bench/secagg/run.sh      (n = 100 and 1000, d = 100000, 10% dropout)
#                  CLIENTS="100" DIM=10000 bench/secagg/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${SALUS_BENCH_VENV:-${TMPDIR:-/tmp}/salus-bench-secagg-venv}"
CLIENTS="${CLIENTS:-100 1000}"
DIM="${DIM:-100000}"
DROPOUT="${DROPOUT:-0.1}"
FLWR_VERSION="${FLWR_VERSION:-1.41.0}"
CPU_LOG="$(mktemp)"
trap 'rm -f "$CPU_LOG" "$CPU_LOG.one"' EXIT

if [ ! -x /usr/bin/time ]; then
    echo "needs GNU time (/usr/bin/time; Debian package 'time') to measure CPU seconds" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet "flwr==$FLWR_VERSION"

cargo build --release --quiet -p salus-cli --manifest-path "$ROOT/Cargo.toml"
SALUS="${CARGO_TARGET_DIR:-$ROOT/target}/release/salus"

# Runs a command, prints its stdout, appends its CPU seconds (user + system) to $CPU_LOG.
timed() {
    local out
    out="$(/usr/bin/time -f "%U %S" -o "$CPU_LOG.one" "$@")"
    awk '{ print $1 + $2 }' "$CPU_LOG.one" >> "$CPU_LOG"
    echo "$out"
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); flwr $FLWR_VERSION; d = $DIM; dropout = $DROPOUT"
for n in $CLIENTS; do
    degree=$(python3 -c "import math; n=$n; d=min(4*math.ceil(math.log2(max(n,2))), n-1); d-=d%2; print(max(d,2))")
    shares=$((degree + 1))
    threshold=$((degree / 2 + 1))
    echo "== n = $n: degree $degree, $shares share holders, reconstruction threshold $threshold"
    : > "$CPU_LOG"
    flower=$(timed "$VENV/bin/python" "$HERE/flower_secaggplus.py" --clients "$n" --dim "$DIM" \
        --dropout "$DROPOUT" --num-shares "$shares" --threshold "$threshold")
    echo "flower:          $flower"
    salus=$(timed "$SALUS" bench secagg --clients "$n" --dim "$DIM" --dropout "$DROPOUT" \
        --graph sparse --degree "$degree" --json)
    echo "salus:           $salus"
    salus_one=$(RAYON_NUM_THREADS=1 timed "$SALUS" bench secagg --clients "$n" --dim "$DIM" \
        --dropout "$DROPOUT" --graph sparse --degree "$degree" --json)
    echo "salus, 1 thread: $salus_one"
    python3 - "$flower" "$salus" "$salus_one" "$(cat "$CPU_LOG")" <<'PY'
import json, sys
f, s, s1 = (json.loads(a) for a in sys.argv[1:4])
cpu_f, cpu_s, cpu_s1 = (float(x) for x in sys.argv[4].split())
print(f"CPU seconds (whole process): flower {cpu_f:.1f}, salus {cpu_s:.1f}, salus 1 thread {cpu_s1:.1f}")
print(f"ratio flower / salus: wall {f['seconds'] / s['seconds']:.1f}x "
      f"(1 thread {f['seconds'] / s1['seconds']:.1f}x), CPU {cpu_f / cpu_s:.1f}x "
      f"(1 thread {cpu_f / cpu_s1:.1f}x); server/hub {f['server_seconds'] / s['hub_seconds']:.1f}x; "
      f"client/node {f['client_seconds_mean'] / s['node_seconds_mean']:.1f}x; "
      f"all correct: {f['correct'] and s['correct'] and s1['correct']}")
PY
done
