#!/usr/bin/env bash
# The main job: installs what is missing, builds bdp, and runs the example
# pipeline config/examples/quickstart.json twice with different runtime
# decisions (hybrid mode: served from memory, every stage also written to the
# SQLite file config/examples/bdp-data/bdp.sqlite in the background), then
# lists the stored processes, the records of the newest one, and what
# differs between the two runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bdp_install_deps
preset="$(bdp_preset)"
bdp_build "$preset" bdp bdp_memory bdp_processors bdp_soci

cd "$BDP_ROOT"
example=config/examples/quickstart.json
bdp_log "bdp run $example"
./build/bdp run "$example" "$@"
bdp_log "bdp run $example --set stages.recent.params.value=2025"
./build/bdp run "$example" --set stages.recent.params.value=2025 "$@"
bdp_log "bdp --config $example ps"
./build/bdp --config "$example" ps --limit 4
bdp_log "bdp --config $example ls --process latest"
./build/bdp --config "$example" ls --process latest
bdp_log "bdp --config $example diff latest~1 latest"
./build/bdp --config "$example" diff latest~1 latest
