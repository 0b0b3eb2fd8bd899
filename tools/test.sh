#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# with ctest. Extra arguments go to ctest (e.g. -R plugin_host).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bdp_install_deps
preset="$(bdp_preset)"
bdp_build "$preset"

cd "$BDP_ROOT"
bdp_log "running the tests"
ctest --preset "$preset" "$@"
