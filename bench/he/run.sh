#!/usr/bin/env bash
# Side-by-side benchmark of Salus threshold HE against OpenFHE (threshold BFV) and of
# Salus encrypted inference against TenSEAL (CKKS), on the same machine in one run.
#
# Usage: bench/he/run.sh [PARTIES] [SLOTS]        (defaults: 3 parties, 4096 slots)
# Env:   PYTHON   interpreter for the venv (default: python3.10 if found, else python3;
#                 the openfhe 1.6.1 wheel ships a cp310 extension module, so it only
#                 imports under Python 3.10)
#        VENV     venv directory (default: target/bench-he-venv)
#        SALUS    salus binary (default: builds `cargo build -p salus-cli`; salus-he and
#                 every dependency are compiled at opt-level 3 in the dev profile)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# Salus runs single-threaded: compare with single-threaded OpenFHE unless told otherwise.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
PARTIES="${1:-3}"
SLOTS="${2:-4096}"

if [ -z "${PYTHON:-}" ]; then
  if command -v python3.10 >/dev/null 2>&1; then PYTHON=python3.10; else PYTHON=python3; fi
fi
VENV="${VENV:-$ROOT/target/bench-he-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install -q "openfhe==1.6.1.0.22.4" "tenseal==0.3.16" "numpy"

if [ -z "${SALUS:-}" ]; then
  (cd "$ROOT" && cargo build -q -p salus-cli)
  SALUS="${CARGO_TARGET_DIR:-$ROOT/target}/debug/salus"
fi

"$VENV/bin/python" "$ROOT/bench/he/compare.py" \
  --salus "$SALUS" --parties "$PARTIES" --slots "$SLOTS" \
  --data "$ROOT/crates/salus-he/tests/data/breast_cancer.csv" \
  --model "$ROOT/crates/salus-he/tests/data/breast_cancer_model.json"
