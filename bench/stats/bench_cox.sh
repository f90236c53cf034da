#!/usr/bin/env bash
# Side-by-side benchmark of `salus cox` / `salus km` (release build) against lifelines
# on the same generated files: Cox 100k and 1M rows x 10 covariates (Efron), Kaplan-Meier
# on 1M rows, peak memory of `salus cox` on 1M x 10.
#   bash bench/stats/bench_cox.sh                 # venv in bench/stats/.venv
#   VENV=/path/to/venv SIZES="100000" bash bench/stats/bench_cox.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "lifelines==0.30.3" "pandas==2.3.3" "numpy==2.4.6" "scipy==1.17.1"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
(cd "$root" && cargo build --release -p salus-cli)
"$venv/bin/python" "$here/bench_cox.py" "$CARGO_TARGET_DIR/release/salus" "${SIZES:-100000 1000000}"
