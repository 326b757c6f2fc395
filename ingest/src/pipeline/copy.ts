/**
 * COPY's plumbing: the text format the careful path's staging COPYs use, the
 * per-connection staging tables, and one COPY of ready-made data (the bulk
 * path's binary rows come from copy-binary.ts). Large batches COPY straight
 * into their tables (the unique keys turn a redelivery into an error, after
 * which the batch goes through staging: COPY into a temporary table, then
 * INSERT ... SELECT ... ON CONFLICT DO NOTHING). `stage_latest` carries each
 * device's newest fix to the upsert of `latest_positions`. Staging tables are
 * temporary (ON COMMIT DELETE ROWS); the DDL runs in a batch's transaction
 * until that transaction has committed on the connection, because a table
 * created in a transaction that rolled back is gone again.
 */
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

/** The staging tables' DDL, run at the start of a connection's first bulk batch (see store.ts). */
export const STAGING_SQL = `
  CREATE TEMP TABLE IF NOT EXISTS stage_positions (
    t bigint, device_id uuid, organisation_id uuid, recipient_id uuid, message_id text,
    lat float8, lon float8, accuracy_m real, speed_mps real, heading_deg real, altitude_m real,
    source text, battery float8
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_messages (
    t bigint, device_id uuid, organisation_id uuid, topic text, message_id text, kind text, payload text
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_latest (
    t bigint, device_id uuid, organisation_id uuid, recipient_id uuid, lat float8, lon float8,
    accuracy_m real, speed_mps real, heading_deg real, source text, battery float8
  ) ON COMMIT DELETE ROWS;`;

/** One value in COPY's text format. */
export function copyValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "\\N";
  if (typeof v === "boolean") return v ? "t" : "f";
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
}

/** One COPY ... FROM STDIN of ready-made COPY data (text rows ending in newlines, or binary); resolves to the row count. */
export function copyData(client: pg.ClientBase, sql: string, data: string | Buffer): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const stream = client.query(copyFrom(sql));
    stream.once("error", reject);
    stream.once("finish", () => resolve(stream.rowCount));
    stream.end(data);
  });
}

export async function copyInto(
  client: pg.ClientBase,
  table: string,
  rows: (string | number | boolean | null | undefined)[][],
): Promise<void> {
  const stream = client.query(copyFrom(`COPY ${table} FROM STDIN`));
  async function* lines() {
    const chunk: string[] = [];
    for (const r of rows) {
      chunk.push(`${r.map(copyValue).join("\t")}\n`);
      if (chunk.length >= 2_000) yield chunk.splice(0).join("");
    }
    if (chunk.length > 0) yield chunk.join("");
  }
  await pipeline(lines, stream);
}
