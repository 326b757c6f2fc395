#!/bin/sh
# A hot-standby TimescaleDB: on first start, copy the primary with
# pg_basebackup (-R writes standby.signal and primary_conninfo), then run
# PostgreSQL as a streaming replica on the slot the primary created.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h timescaledb -p 5432; do sleep 2; done
  PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h timescaledb -U replicator \
    -D "$PGDATA" -X stream -R -S replica_1 --checkpoint=fast
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on
