#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite
# with ctest. Extra arguments go to ctest (e.g. -R plugin_host).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bdp_install_deps
preset="$(bdp_preset)"
bdp_build "$preset"

cd "$BDP_ROOT"
# The database backend's PostgreSQL tests run against a throwaway cluster
# (tools/pg.sh); in CI they must not be skipped.
if [ -z "${BDP_TEST_PG_URL:-}" ]; then
  if pg_dir="$("$BDP_ROOT/tools/pg.sh" start)"; then
    trap '"$BDP_ROOT/tools/pg.sh" stop "$pg_dir"' EXIT
    eval "$("$BDP_ROOT/tools/pg.sh" env "$pg_dir")"
    bdp_log "PostgreSQL test cluster on ${BDP_TEST_PG_URL#postgresql://}"
  elif [ "${CI:-}" = "true" ]; then
    echo "bdp: could not start the PostgreSQL test cluster (tools/pg.sh start)" >&2
    exit 1
  else
    bdp_log "no PostgreSQL test cluster: the PostgreSQL tests will be skipped"
  fi
fi
bdp_log "running the tests"
ctest --preset "$preset" "$@"
