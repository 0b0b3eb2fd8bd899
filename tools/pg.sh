#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on loopback for the tests and benchmarks.
#
#   tools/pg.sh start        initdb into a fresh temp dir, start on a free port;
#                            prints the cluster dir (pass it to env and stop)
#   tools/pg.sh env DIR      prints `export BDP_TEST_PG_URL=...` (and the
#                            password role's URL, BDP_TEST_PG_PASSWORD_URL)
#   tools/pg.sh stop DIR     stops the server and deletes DIR
#
# DIR defaults to $BDP_PG_DIR. The superuser "postgres" connects without a
# password over loopback; the role "bdp_pw" (password "bdp-secret") must use
# its password, so tests can check bad-credential errors. Run as root, the
# server runs as the `postgres` OS user (PostgreSQL refuses to run as root).
set -euo pipefail

PG_BIN="${BDP_PG_BIN:-/usr/lib/postgresql/15/bin}"

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd_start() {
  [ -x "$PG_BIN/initdb" ] || {
    echo "pg.sh: $PG_BIN/initdb not found (apt-get install postgresql)" >&2
    return 1
  }
  local dir port
  dir="$(mktemp -d /tmp/bdp-pg.XXXXXX)"
  chmod 755 "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if ! as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 \
    >"$dir/initdb.log" 2>&1; then
    echo "pg.sh: initdb failed; see $dir/initdb.log" >&2
    cat "$dir/initdb.log" >&2
    return 1
  fi
  # The password role is checked first, everyone else is trusted on loopback.
  as_pg sh -c "printf 'host all bdp_pw 127.0.0.1/32 scram-sha-256\n%s\n' \"\$(cat '$dir/data/pg_hba.conf')\" >'$dir/data/pg_hba.tmp' && mv '$dir/data/pg_hba.tmp' '$dir/data/pg_hba.conf'"
  local tries=0
  while :; do
    port="$(free_port)"
    if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      echo "pg.sh: the server did not start; see $dir/server.log" >&2
      tail -n 20 "$dir/server.log" >&2 || true
      return 1
    fi
  done
  "$PG_BIN/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "create role bdp_pw login password 'bdp-secret'" -c "create database bdp_pw owner bdp_pw" \
    >/dev/null
  echo "$port" >"$dir/port"
  echo "$dir"
}

cmd_env() {
  local dir="${1:-${BDP_PG_DIR:-}}"
  [ -n "$dir" ] && [ -f "$dir/port" ] || {
    echo "pg.sh env: no cluster dir (give the dir printed by 'pg.sh start')" >&2
    return 1
  }
  local port
  port="$(cat "$dir/port")"
  echo "export BDP_PG_DIR='$dir'"
  echo "export BDP_TEST_PG_URL='postgresql://host=127.0.0.1 port=$port dbname=postgres user=postgres'"
  echo "export BDP_TEST_PG_PASSWORD_URL='postgresql://host=127.0.0.1 port=$port dbname=bdp_pw user=bdp_pw password=bdp-secret'"
}

cmd_stop() {
  local dir="${1:-${BDP_PG_DIR:-}}"
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  case "$dir" in
  /tmp/bdp-pg.*) ;;
  *)
    echo "pg.sh stop: '$dir' is not a cluster made by pg.sh start" >&2
    return 1
    ;;
  esac
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
start) cmd_start ;;
env) cmd_env "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
*)
  echo "usage: tools/pg.sh start | env DIR | stop DIR" >&2
  exit 2
  ;;
esac
