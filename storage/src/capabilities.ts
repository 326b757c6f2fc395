import type { Queryable } from "./pool";

export interface StorageCapabilities {
  /** The timescaledb extension is installed in this database. */
  timescaledb: boolean;
  /** Compression, retention policies and continuous aggregates are available (community licence). */
  timescaledbPolicies: boolean;
  serverVersion: string;
}

export async function detectCapabilities(db: Queryable): Promise<StorageCapabilities> {
  const { rows } = await db.query<{ ts: boolean; policies: boolean; version: string }>(
    `SELECT vakt_has_timescaledb() AS ts, vakt_has_timescaledb_policies() AS policies,
            current_setting('server_version') AS version`,
  );
  const row = rows[0];
  if (!row) throw new Error("capability query returned no row");
  return { timescaledb: row.ts, timescaledbPolicies: row.policies, serverVersion: row.version };
}

/**
 * SQL for the start of the time bucket containing `column`, with the bucket
 * width bound as parameter `$n` (an interval). time_bucket on TimescaleDB,
 * date_bin elsewhere; both align buckets to the Unix epoch.
 */
export function timeBucketSql(caps: StorageCapabilities, intervalParam: number, column = "time"): string {
  return caps.timescaledb
    ? `time_bucket($${intervalParam}::interval, ${column})`
    : `date_bin($${intervalParam}::interval, ${column}, TIMESTAMPTZ '1970-01-01 00:00:00+00')`;
}
