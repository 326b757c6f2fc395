/**
 * `npm run verify-log -w @vakt/api [organisation-id]`: recomputes the activity
 * log's hash chain of one or every organisation. Exit status 1 when any chain
 * is broken, 2 on bad configuration.
 */
import { createPool } from "@vakt/storage";
import { z } from "zod";
import { verifyActivityLog } from "../services/activity";

const args = z.object({ DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//), org: z.uuid().optional() });

async function main() {
  const parsed = args.safeParse({ DATABASE_URL: process.env.DATABASE_URL, org: process.argv[2] });
  if (!parsed.success) {
    console.error(`usage: DATABASE_URL=postgres://... verify-log [organisation-id]\n${parsed.error.message}`);
    process.exit(2);
  }
  const pool = createPool(parsed.data.DATABASE_URL, { applicationName: "vakt-verify-log", max: 1 });
  try {
    const orgs = parsed.data.org
      ? [{ id: parsed.data.org, slug: parsed.data.org }]
      : (await pool.query<{ id: string; slug: string }>("SELECT id, slug FROM organisations ORDER BY slug"))
          .rows;
    let broken = 0;
    for (const org of orgs) {
      const result = await verifyActivityLog(pool, org.id);
      if (!result.ok) broken++;
      console.log(
        result.ok
          ? `ok      ${org.slug}: ${result.rows} rows`
          : `BROKEN  ${org.slug}: row ${result.firstProblem?.seq}: ${result.firstProblem?.problem} (${result.rows} rows)`,
      );
    }
    return broken > 0 ? 1 : 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
