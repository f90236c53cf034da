#!/usr/bin/env bash
# Builds a Python venv with the reference tools (lifelines, statsmodels) and writes the
# reference fixtures of salus-stats into crates/salus-stats/tests/data/.
# Not part of the test suite: run it by hand when fixtures need regenerating.
#   bash bench/stats/make_fixtures.sh            # venv in bench/stats/.venv
#   VENV=/path/to/venv bash bench/stats/make_fixtures.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "lifelines==0.30.3" "statsmodels==0.15.0" "pandas==2.3.3" "numpy==2.4.6" "scipy==1.17.1"
fi
"$venv/bin/python" "$here/make_fixtures.py" "$root/crates/salus-stats/tests/data"
