#!/usr/bin/env bash
# Side-by-side benchmark: smartnoise-synth (MST, AIM; PyPI) vs `salus synth` on UCI Adult.
#
#   bash bench/synth/run.sh [--epsilons "0.3 1 3"] [--runs 5] [--methods "mst aim"] [--peer-timeout 1800]
#
# Creates its own venv (bench/.venv-synth, ~6 GB: smartnoise-synth pulls torch through
# opacus), builds the salus binary in release mode, runs both tools on the same data in one
# run and prints 1/2/3-way TVD, wall time and the speed ratio. Results: bench/out/synth.json.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${SALUS_SYNTH_VENV:-$ROOT/bench/.venv-synth}"
DATA="${SALUS_SYNTH_DATA:-$ROOT/crates/salus-synth/tests/data/adult/adult.csv}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet "smartnoise-synth==1.0.8" pandas
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -p salus-cli --manifest-path "$ROOT/Cargo.toml"
mkdir -p "$ROOT/bench/out"
"$VENV/bin/python" "$ROOT/bench/synth/compare.py" --salus "$CARGO_TARGET_DIR/release/salus" --data "$DATA" \
  --out "$ROOT/bench/out/synth.json" "$@"
