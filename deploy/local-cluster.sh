#!/usr/bin/env bash
# The compose file's wiring (deploy/compose.yaml) with local processes, for machines that
# cannot run containers: a PostgreSQL primary and a streaming replica (initdb,
# pg_basebackup -R), Redis, `iocfeed db upgrade`, `iocfeed serve --workers 2` and
# `iocfeed worker`, given the same IOCFEED_* variables as the containers (the env file,
# then the three URLs compose sets), with loopback addresses for the service names.
#
#   deploy/local-cluster.sh          # start everything; Ctrl-C stops and removes it all
#   deploy/local-cluster.sh check    # start, check the wiring end to end, stop (exit 1 on failure)
#
# PGBIN (default /usr/lib/postgresql/15/bin), IOCFEED (default: iocfeed beside python3 in
# .venv, else on PATH) and REDIS_SERVER (default redis-server) name the programs.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
mode="${1:-up}"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
if [[ -z "${IOCFEED:-}" ]]; then
  if [[ -x "$here/../.venv/bin/iocfeed" ]]; then IOCFEED="$here/../.venv/bin/iocfeed"; else IOCFEED=iocfeed; fi
fi

root="$(mktemp -d /tmp/iocfeed-cluster.XXXXXX)"
pids=()
say() { printf '[local-cluster] %s\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# PostgreSQL refuses to run as root: then its programs run as the postgres user.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for data in replica primary; do
    [[ -f "$root/$data/postmaster.pid" ]] && as_pg "$PGBIN/pg_ctl" -D "$root/$data" -m fast -w stop >/dev/null 2>&1 || true
  done
  if [[ -f "$root/redis.pid" ]]; then
    local redis_pid; redis_pid="$(cat "$root/redis.pid")"
    kill "$redis_pid" 2>/dev/null || true
    # Redis and the server's workers may still write their last lines into $root.
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if [[ $status != 0 ]]; then
    for log in "$root"/*.log; do say "--- $log"; tail -n 30 "$log" >&2 || true; done
  fi
  for _ in $(seq 10); do rm -rf "$root" 2>/dev/null && break; sleep 0.2; done
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[[ $(id -u) == 0 ]] && chown postgres:postgres "$root"
primary_port=$(free_port); replica_port=$(free_port); redis_port=$(free_port); web_port=$(free_port)

# --- postgres-primary: wal_level=replica, max_wal_senders=10, a replicator role ------------
say "primary on 127.0.0.1:$primary_port"
as_pg "$PGBIN/initdb" -D "$root/primary" -U iocfeed --auth=trust --no-sync --no-instructions >"$root/initdb.log"
pg_options="-c listen_addresses=127.0.0.1 -c unix_socket_directories=$root -c wal_level=replica -c max_wal_senders=10 -c hot_standby=on"
as_pg "$PGBIN/pg_ctl" -D "$root/primary" -l "$root/primary.log" -o "-p $primary_port $pg_options" -w start >/dev/null
psql_at() { "$PGBIN/psql" -X -q -t -A -h 127.0.0.1 -p "$1" -U iocfeed -d "${3:-iocfeed}" -c "$2"; }
psql_at "$primary_port" "CREATE DATABASE iocfeed" postgres
psql_at "$primary_port" "CREATE ROLE replicator WITH REPLICATION LOGIN"

# --- postgres-replica: pg_basebackup -R from the primary, then a hot standby ---------------
say "replica on 127.0.0.1:$replica_port"
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U replicator -D "$root/replica" -R -X stream -c fast --no-sync
as_pg "$PGBIN/pg_ctl" -D "$root/replica" -l "$root/replica.log" -o "-p $replica_port $pg_options" -w start >/dev/null

# --- redis ---------------------------------------------------------------------------------
say "redis on 127.0.0.1:$redis_port"
"$REDIS_SERVER" --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
  --daemonize yes --pidfile "$root/redis.pid" --logfile "$root/redis.log" --dir "$root"

# --- the iocfeed services' environment, as compose gives it -------------------------------
env_file="$here/iocfeed.env"
[[ -f "$env_file" ]] || env_file="$here/iocfeed.env.example"
while IFS= read -r line; do
  [[ -z "$line" || "$line" == \#* ]] && continue
  export "${line?}"
done <"$env_file"
export IOCFEED_DATABASE_URL="postgresql://iocfeed@127.0.0.1:$primary_port/iocfeed"
export IOCFEED_DATABASE_REPLICA_URLS="postgresql://iocfeed@127.0.0.1:$replica_port/iocfeed"
export IOCFEED_REDIS_URL="redis://127.0.0.1:$redis_port/0"
export IOCFEED_PUBLIC_URL="http://127.0.0.1:$web_port"
export PROMETHEUS_MULTIPROC_DIR="$root/metrics"

# --- migrate, iocfeed-web, iocfeed-worker ---------------------------------------------------
"$IOCFEED" db upgrade >"$root/migrate.log" 2>&1
say "iocfeed on http://127.0.0.1:$web_port (2 workers) and a worker"
"$IOCFEED" serve --host 127.0.0.1 --port "$web_port" --workers 2 --log-level warning >"$root/web.log" 2>&1 &
pids+=($!)
"$IOCFEED" worker --poll 1 >"$root/worker.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$web_port"
for _ in $(seq 150); do
  python3 - "$base" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1] + "/healthz", timeout=2)
except Exception:
    sys.exit(1)
PY
  sleep 0.2
done

if [[ "$mode" != check ]]; then
  say "up; Ctrl-C stops everything"
  wait "${pids[0]}"
  exit 0
fi

# --- check: the wiring end to end -----------------------------------------------------------
key="$("$IOCFEED" keys create --plan admin --name local-cluster-check)"
# iocfeed opens connections to a replica only to read from it (store.replicas).
replica_reads() { psql_at "$replica_port" "SELECT count(*) FROM pg_stat_activity WHERE datname = 'iocfeed' AND backend_type = 'client backend' AND pid <> pg_backend_pid()"; }
python3 - "$base" "$key" <<'PY'
import json, sys, time, urllib.request

base, key = sys.argv[1], sys.argv[2]

def call(path, body=None):
    request = urllib.request.Request(base + path, data=body, headers={
        "X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()

status, body = call("/healthz")
health = json.loads(body)
assert health["database"] == "ok" and health["redis"] == "ok", health
status, body = call("/api/v1/iocs", json.dumps([{"type": "domain", "value": "wired.example"}]).encode())
assert json.loads(body)["added"] == 1, body
deadline = time.monotonic() + 15
while True:  # read back through a replica: it streams the write within moments
    try:
        status, body = call("/api/v1/iocs/domain/wired.example")
        break
    except urllib.error.HTTPError as error:
        assert error.code == 404 and time.monotonic() < deadline, error
        time.sleep(0.1)
for _ in range(20):
    call("/api/v1/iocs?limit=5")
status, body = call("/metrics")
assert b'iocfeed_requests_total{method="GET",route="/api/v1/iocs",status="200"} 20.0' in body, body[:2000]
print("http: healthz ok, write read back, metrics add up")
PY
sessions="$(replica_reads)"
(( sessions >= 1 )) || { say "iocfeed has no session on the replica"; exit 1; }
[[ "$(psql_at "$replica_port" "SELECT pg_is_in_recovery()")" == t ]] || { say "replica not in recovery"; exit 1; }
for _ in $(seq 50); do
  holder="$(psql_at "$primary_port" "SELECT coalesce(max(holder), '') FROM sweep_leases")"
  [[ -n "$holder" ]] && break
  sleep 0.2
done
[[ -n "$holder" ]] || { say "no worker claimed the expiry sweep"; exit 1; }
say "iocfeed reads the replica ($sessions sessions); expiry sweep claimed by $holder"
say "check passed"
