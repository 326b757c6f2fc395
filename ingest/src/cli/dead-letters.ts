/**
 * Dead letters for whoever runs the site, including those no organisation
 * owns (unknown devices, topics outside the contract), which the API's admin
 * screen cannot show: `npm run dead-letters -w @vakt/ingest -- [--unowned]
 * [--reason R] [--since 2026-12-01T00:00Z] [--limit 100] [--payload]`.
 * One JSON line per dead letter, newest first; then a count by reason.
 * Reads DATABASE_URL.
 */
import { parseArgs } from "node:util";
import { createPool } from "@vakt/storage";
import { z } from "zod";

const args = z
  .object({
    unowned: z.boolean().default(false),
    reason: z.string().max(64).optional(),
    since: z.iso.datetime({ offset: true }).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    payload: z.boolean().default(false),
  })
  .parse(
    parseArgs({
      options: {
        unowned: { type: "boolean" },
        reason: { type: "string" },
        since: { type: "string" },
        limit: { type: "string" },
        payload: { type: "boolean" },
      },
    }).values,
  );

const url = z.string().min(1).safeParse(process.env.DATABASE_URL);
if (!url.success) {
  console.error("dead-letters: DATABASE_URL is not set");
  process.exit(2);
}
const pool = createPool(url.data, { max: 1, applicationName: "vakt-dead-letters" });
try {
  const where = `($1::boolean IS FALSE OR organisation_id IS NULL)
             AND ($2::text IS NULL OR reason = $2) AND ($3::timestamptz IS NULL OR received_at >= $3)`;
  const params = [args.unowned, args.reason ?? null, args.since ?? null];
  const rows = await pool.query(
    `SELECT id, received_at, transport, topic, organisation_id, device_id, reason, detail, payload_bytes,
            payload_excerpt, payload
       FROM dead_letters WHERE ${where} ORDER BY id DESC LIMIT $4`,
    [...params, args.limit],
  );
  for (const r of rows.rows) {
    const { payload, payload_excerpt, ...rest } = r as { payload: Buffer | null; payload_excerpt: string };
    console.log(
      JSON.stringify({
        ...rest,
        excerpt: payload_excerpt.slice(0, 200),
        ...(args.payload && payload ? { payloadBase64: payload.toString("base64") } : {}),
      }),
    );
  }
  const byReason = await pool.query(
    `SELECT reason, count(*)::int AS n FROM dead_letters WHERE ${where} GROUP BY 1 ORDER BY 2 DESC`,
    params,
  );
  console.log(JSON.stringify({ byReason: Object.fromEntries(byReason.rows.map((r) => [r.reason, r.n])) }));
} finally {
  await pool.end();
}
