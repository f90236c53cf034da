#!/usr/bin/env bash
# Side-by-side benchmark: Flower's SecAgg+ (flwr from PyPI, its own protocol code, in one
# process) against `salus bench secagg` on the same number of clients, vector length,
# dropout rate and SecAgg+ graph (each client shares with 4*ceil(log2 n) neighbours, a
# majority of the degree+1 holders is needed to reconstruct). Prints both results and the
# ratios. Usage: bench/secagg/run.sh            (n = 100 and 1000, d = 100000, 10% dropout)
#        CLIENTS="100" DIM=10000 bench/secagg/run.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${SALUS_BENCH_VENV:-${TMPDIR:-/tmp}/salus-bench-secagg-venv}"
CLIENTS="${CLIENTS:-100 1000}"
DIM="${DIM:-100000}"
DROPOUT="${DROPOUT:-0.1}"
FLWR_VERSION="${FLWR_VERSION:-1.41.0}"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet "flwr==$FLWR_VERSION"

cargo build --release --quiet -p salus-cli --manifest-path "$ROOT/Cargo.toml"
SALUS="${CARGO_TARGET_DIR:-$ROOT/target}/release/salus"

echo "machine: $(nproc) cores; flwr $FLWR_VERSION; d = $DIM; dropout = $DROPOUT"
for n in $CLIENTS; do
    degree=$(python3 -c "import math; n=$n; d=min(4*math.ceil(math.log2(max(n,2))), n-1); d-=d%2; print(max(d,2))")
    shares=$((degree + 1))
    threshold=$(( (degree + 1) / 2 + 1 ))
    echo "== n = $n: degree $degree, $shares share holders, reconstruction threshold $threshold"
    flower=$("$VENV/bin/python" "$HERE/flower_secaggplus.py" --clients "$n" --dim "$DIM" \
        --dropout "$DROPOUT" --num-shares "$shares" --threshold "$threshold")
    echo "flower:          $flower"
    salus=$("$SALUS" bench secagg --clients "$n" --dim "$DIM" --dropout "$DROPOUT" --graph sparse --degree "$degree" --json)
    echo "salus:           $salus"
    salus_one=$(RAYON_NUM_THREADS=1 "$SALUS" bench secagg --clients "$n" --dim "$DIM" --dropout "$DROPOUT" --graph sparse --degree "$degree" --json)
    echo "salus, 1 thread: $salus_one"
    python3 - "$flower" "$salus" "$salus_one" <<'PY'
import json, sys
f, s, s1 = (json.loads(a) for a in sys.argv[1:])
print(f"ratio (flower / salus) per round: {f['seconds'] / s['seconds']:.1f}x "
      f"(single-threaded salus: {f['seconds'] / s1['seconds']:.1f}x); "
      f"server/hub: {f['server_seconds'] / s['hub_seconds']:.1f}x; "
      f"client/node mean: {f['client_seconds_mean'] / s['node_seconds_mean']:.1f}x; "
      f"both correct: {f['correct'] and s['correct'] and s1['correct']}")
PY
done
