#!/usr/bin/env bash
# The main job: installs what is missing, builds bdp, and runs the example
# pipeline config/examples/quickstart.json, printing its stage summary.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bdp_install_deps
preset="$(bdp_preset)"
bdp_build "$preset" bdp bdp_memory bdp_processors

cd "$BDP_ROOT"
bdp_log "bdp run config/examples/quickstart.json"
./build/bdp run config/examples/quickstart.json "$@"
