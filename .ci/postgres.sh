#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store tests (Debian's postgresql package):
# a fresh cluster in a temporary folder owned by the postgres user, listening on 127.0.0.1
# only, on a free port.  Prints `export` lines for the caller to eval:
#   eval "$(bash .ci/postgres.sh start)"   ...   bash .ci/postgres.sh stop "$CUSTSEG_PG_DIR"
set -euo pipefail
cmd="${1:-start}"
if [ "$cmd" = stop ]; then
  dir="${2:?usage: postgres.sh stop DIR}"
  bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir/data' -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit 0
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
dir="$(mktemp -d /tmp/custseg-pg.XXXXXX)"
chown postgres:postgres "$dir"
chmod 700 "$dir"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="custseg-test"
su postgres -s /bin/sh -c "printf '%s\n' '$password' > '$dir/pw' && $bin/initdb -D '$dir/data' -U postgres --pwfile='$dir/pw' -A scram-sha-256 -E UTF8 --locale=C.UTF-8" >&2
su postgres -s /bin/sh -c "$bin/pg_ctl -D '$dir/data' -l '$dir/log' -w -t 60 -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c fsync=on\" start" >&2
PGPASSWORD="$password" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -q \
  -c "CREATE DATABASE custseg_test" >&2
echo "export CUSTSEG_PG_DIR='$dir'"
echo "export CUSTSEG_TEST_PG_URL='postgresql+psycopg://postgres:$password@127.0.0.1:$port/custseg_test'"
