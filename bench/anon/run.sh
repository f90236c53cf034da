#!/usr/bin/env bash
# Salus anonymization vs Python peers on the same data, in one run:
#   * pycanon (independent checker): k-anonymity / l-diversity / t-closeness of Salus's
#     released Adult tables, and the time pycanon needs to compute k on the raw table vs
#     `salus risk`;
#   * anonypy (Mondrian, k = 5): time to anonymize Adult vs `salus anonymize` (optimal
#     full-domain generalization, a different algorithm: the ratio compares tools a
#     steward would pick, not identical outputs).
# Usage: bash bench/anon/run.sh   (from the repository root; builds salus in release)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${TMPDIR:-/tmp}/salus-bench-anon"
mkdir -p "$WORK"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --release -p salus-cli --manifest-path "$ROOT/Cargo.toml" >&2
SALUS="$CARGO_TARGET_DIR/release/salus"
if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet pycanon anonypy pandas
fi
exec "$WORK/venv/bin/python" "$ROOT/bench/anon/compare.py" "$SALUS" "$ROOT" "$WORK"
