#!/bin/sh
# The replica's entry point: on first start, copy the primary with pg_basebackup -R (which
# writes standby.signal and primary_conninfo), then run as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h postgres-primary -U replicator -D "$PGDATA" -R -X stream; do
    echo "waiting for the primary"; sleep 2
  done
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
