#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the test suite, independent of any system cluster and of systemd.
#   .ci/postgres.sh start DIR   initdb in DIR, listen on 127.0.0.1:$PGPORT, create role and database
#   .ci/postgres.sh stop DIR    stop the server and delete DIR
set -euo pipefail

PGPORT=${PGPORT:-55432}
PGBIN=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[[ -x $PGBIN/initdb ]] || { echo "$0: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }

as_postgres() { runuser -u postgres -- "$@"; }

start() {
  local dir=$1
  # initdb refuses to run as root; the directory must belong to postgres.
  mkdir -p "$dir" && chown postgres:postgres "$dir"
  as_postgres "$PGBIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  # Durability settings are off: the cluster is deleted when the run ends.
  if ! as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o \
      "-p $PGPORT -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null; then
    cat "$dir/server.log" >&2
    return 1
  fi
  "$PGBIN/psql" -X -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE stepwise LOGIN PASSWORD 'stepwise'" \
    -c "CREATE DATABASE stepwise_test OWNER stepwise"
}

stop() {
  local dir=$1
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
  fi
  rm -rf "$dir"
}

case ${1:-} in
  start | stop) [[ $# -eq 2 ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }; "$1" "$2" ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
