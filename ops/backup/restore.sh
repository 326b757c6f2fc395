#!/usr/bin/env bash
# Restores a backup made by backup.sh into an EMPTY database (create it first).
#
#   restore.sh ARCHIVE TARGET_DATABASE_URL
#
# The archive's checksum is checked when its .sha256 file is beside it. On
# TimescaleDB the restore is bracketed by timescaledb_pre_restore() and
# timescaledb_post_restore(). Triggers (the activity log's hash chain and
# append-only guard) are created after the data, so restored rows keep their
# seq and hashes; run `npm run verify-log -w @vakt/api` afterwards.
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: restore.sh ARCHIVE TARGET_DATABASE_URL" >&2
  exit 2
fi
archive="$1"
target="$2"
bin="${PG_BIN:+$PG_BIN/}"

if [[ -f "$archive.sha256" ]]; then
  (cd "$(dirname "$archive")" && sha256sum --check --quiet "$(basename "$archive").sha256")
fi
tables="$("${bin}psql" -X -At -d "$target" -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
if [[ "$tables" != "0" ]]; then
  echo "restore: the target database is not empty ($tables tables); refusing" >&2
  exit 3
fi
timescale="$("${bin}pg_restore" --list "$archive" | grep -c 'EXTENSION - timescaledb' || true)"
if [[ "$timescale" != "0" ]]; then
  "${bin}psql" -X -q -v ON_ERROR_STOP=1 -d "$target" \
    -c "CREATE EXTENSION IF NOT EXISTS timescaledb" -c "SELECT timescaledb_pre_restore()" >/dev/null
fi
"${bin}pg_restore" --exit-on-error --no-owner --no-privileges --dbname="$target" "$archive"
if [[ "$timescale" != "0" ]]; then
  "${bin}psql" -X -q -v ON_ERROR_STOP=1 -d "$target" -c "SELECT timescaledb_post_restore()" >/dev/null
fi
echo "restored: $archive -> database $("${bin}psql" -X -At -d "$target" -c 'SELECT current_database()')"
