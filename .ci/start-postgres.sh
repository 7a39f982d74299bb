#!/usr/bin/env bash
# Start a throwaway PostgreSQL cluster on 127.0.0.1:${PGPORT:-5433} as the postgres user
# (initdb refuses to run as root) and print the admin URL for HERALD_TEST_POSTGRES_URL.
set -euo pipefail
PGPORT="${PGPORT:-5433}"
PGDATA="${PGDATA:-/tmp/herald-ci-pg}"
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
  echo "PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2
  exit 1
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if ! as_pg "$bindir/pg_isready" -h 127.0.0.1 -p "$PGPORT" -q; then
  rm -rf "$PGDATA"
  mkdir -p "$PGDATA"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDATA"
  as_pg "$bindir/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$bindir/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PGDATA -c fsync=off" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PGPORT/postgres"
