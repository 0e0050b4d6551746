# Private PostgreSQL for scripts (bench, cluster): run as an unprivileged user, because
# PostgreSQL refuses to run as root. Source this file, then:
#   pg_start DIR PORT   initdb (if DIR/data is new) and start; sets PG_URL
#   pg_stop DIR         fast shutdown
pg_bindir() { pg_config --bindir 2>/dev/null || ls -d /usr/lib/postgresql/*/bin | tail -1; }

pg_as_user() {
  if [ "$(id -u)" -eq 0 ]; then
    id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bindir)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R postgres "$dir"
    # The server user must be able to reach its directory (mktemp makes parents 0700).
    chmod o+x "$(dirname "$dir")"
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    pg_as_user "$bin/initdb" -D "$dir/data" --auth=trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  pg_as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null || { tail -20 "$dir/postgres.log" >&2; return 1; }
  PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_stop() {
  local dir=$1
  [ -f "$dir/data/postmaster.pid" ] && pg_as_user "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
  return 0
}
