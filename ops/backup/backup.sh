#!/usr/bin/env bash
# Vakt database backup: one pg_dump custom-format archive per run, checked
# readable before it is kept, then archives older than the backup retention
# (default 122 days, "deleted from backup after 4 months") are removed.
#
#   backup.sh [DATABASE_URL]
#
# Environment: DATABASE_URL (when no argument), BACKUP_DIR (default
# /var/backups/vakt), BACKUP_RETENTION_DAYS (default 122), PG_BIN (directory of
# pg_dump/pg_restore, default: from PATH; must be at least the server's major version).
set -euo pipefail

url="${1:-${DATABASE_URL:-}}"
if [[ -z "$url" ]]; then
  echo "usage: backup.sh DATABASE_URL (or set DATABASE_URL)" >&2
  exit 2
fi
dir="${BACKUP_DIR:-/var/backups/vakt}"
keep_days="${BACKUP_RETENTION_DAYS:-122}"
if ! [[ "$keep_days" =~ ^[0-9]+$ ]] || ((keep_days < 1)); then
  echo "BACKUP_RETENTION_DAYS must be a whole number of days >= 1" >&2
  exit 2
fi
bin="${PG_BIN:+$PG_BIN/}"

umask 077
mkdir -p "$dir"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
final="$dir/vakt-$stamp.dump"
partial="$dir/.vakt-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

"${bin}pg_dump" --format=custom --compress=6 --no-owner --no-privileges --file="$partial" "$url"
# A backup that cannot be listed cannot be restored: fail now, not on the day it is needed.
"${bin}pg_restore" --list "$partial" >/dev/null
mv "$partial" "$final"
(cd "$dir" && sha256sum "$(basename "$final")" >"$(basename "$final").sha256")
echo "backup: $final ($(stat -c %s "$final") bytes)"

# Retention: archives (and their checksums) older than keep_days go.
find "$dir" -maxdepth 1 -type f \( -name 'vakt-*.dump' -o -name 'vakt-*.dump.sha256' \) \
  -mtime +"$keep_days" -print -delete | sed 's/^/pruned: /'
