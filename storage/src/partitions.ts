import type { Queryable } from "./pool";

export interface PartitionMaintenanceResult {
  created: number;
  dropped: string[];
}

interface TimeseriesTable {
  table_name: string;
  keep_for: string;
  engine: "timescaledb" | "partitioned";
}

/**
 * On plain PostgreSQL, keeps daily partitions ready a week ahead and drops the
 * ones wholly older than the table's ceiling; old rows that landed in the
 * DEFAULT partition are deleted by time. On TimescaleDB the retention policies
 * do this, so the function only drops chunks where policies are unavailable.
 * Idempotent: running it twice changes nothing the second time.
 */
export async function maintainTimeseries(db: Queryable, now: Date): Promise<PartitionMaintenanceResult> {
  const tables = (
    await db.query<TimeseriesTable>("SELECT table_name, keep_for::text, engine FROM timeseries_tables")
  ).rows;
  const result: PartitionMaintenanceResult = { created: 0, dropped: [] };
  for (const t of tables) {
    if (t.engine === "timescaledb") {
      const { rows } = await db.query<{ policies: boolean }>(
        "SELECT vakt_has_timescaledb_policies() AS policies",
      );
      if (!rows[0]?.policies) {
        const dropped = await db.query<{ chunk: string }>(
          "SELECT vakt_drop_old_chunks($1, $2::timestamptz - $3::interval) AS chunk",
          [t.table_name, now, t.keep_for],
        );
        result.dropped.push(...dropped.rows.map((r) => r.chunk));
      }
      continue;
    }
    const created = await db.query<{ n: number }>(
      "SELECT vakt_ensure_partitions($1, $2::timestamptz - interval '1 day', $2::timestamptz + interval '7 days') AS n",
      [t.table_name, now],
    );
    result.created += created.rows[0]?.n ?? 0;
    const old = await db.query<{ name: string }>(
      `SELECT c.relname AS name
         FROM pg_inherits i
         JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = $1
          AND c.relname ~ '_p[0-9]{8}$'
          AND ((to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC')
              <= $2::timestamptz - $3::interval`,
      [t.table_name, now, t.keep_for],
    );
    for (const { name } of old.rows) {
      // Owner's DDL through a definer function (migration 0111): the runtime role owns no table.
      await db.query("SELECT vakt_drop_partition($1, $2)", [t.table_name, name]);
      result.dropped.push(name);
    }
    await db.query(`DELETE FROM "${t.table_name}_default" WHERE time < $1::timestamptz - $2::interval`, [
      now,
      t.keep_for,
    ]);
  }
  return result;
}
