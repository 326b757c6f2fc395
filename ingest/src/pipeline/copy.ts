/**
 * COPY into a per-connection staging table, then one INSERT ... SELECT ...
 * ON CONFLICT DO NOTHING: COPY is the fastest way in, and the INSERT keeps
 * redelivery idempotent. Staging tables are temporary (ON COMMIT DELETE ROWS);
 * `CREATE ... IF NOT EXISTS` runs in every batch's transaction, because a
 * table created in a transaction that rolled back is gone again.
 */
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

const STAGING_DDL = `
  CREATE TEMP TABLE IF NOT EXISTS stage_positions (
    t bigint, device_id uuid, organisation_id uuid, recipient_id uuid, message_id text,
    lat float8, lon float8, accuracy_m real, speed_mps real, heading_deg real, altitude_m real,
    source text, battery float8
  ) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_messages (
    t bigint, device_id uuid, organisation_id uuid, topic text, message_id text, kind text, payload text
  ) ON COMMIT DELETE ROWS;`;

export async function ensureStaging(client: pg.ClientBase): Promise<void> {
  await client.query(STAGING_DDL);
}

/** One value in COPY's text format. */
export function copyValue(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return "\\N";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "\\N";
  if (typeof v === "boolean") return v ? "t" : "f";
  return v.replace(/[\\\n\r\t]/g, (c) =>
    c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t",
  );
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
