/**
 * `npm run verify-log -w @vakt/api [--checkpoint] [organisation-id]`: verifies
 * the activity log of one or every organisation: every keyed row's HMAC under
 * ACTIVITY_LOG_KEYS, legacy rows under the unkeyed rule, and every signed
 * checkpoint in ACTIVITY_CHECKPOINT_FILE (public key from
 * ACTIVITY_CHECKPOINT_PUBLIC_KEY or ACTIVITY_CHECKPOINT_KEY). Names each finding.
 * `--checkpoint` first writes a signed checkpoint of each organisation (needs
 * ACTIVITY_CHECKPOINT_KEY). Exit status 1 when anything is found, 2 on bad configuration.
 */
import { parseArgs } from "node:util";
import { activityLogEnv, ConfigError, loadConfig } from "@vakt/schemas";
import { createPool } from "@vakt/storage";
import { z } from "zod";
import { activityLogFromConfig, createCheckpointer } from "../activity/chain";
import { verifyActivityLog } from "../activity/reader";

const env = activityLogEnv.extend({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, { error: "a postgres:// URL" }),
  ACTIVITY_LOG_KEYS: activityLogEnv.shape.ACTIVITY_LOG_KEYS.unwrap(),
});

async function main() {
  const { values, positionals } = parseArgs({
    options: { checkpoint: { type: "boolean", default: false } },
    allowPositionals: true,
  });
  const org = z.uuid().optional().safeParse(positionals[0]);
  let config: z.infer<typeof env>;
  let setup: ReturnType<typeof activityLogFromConfig>;
  try {
    if (!org.success) throw new ConfigError(["organisation-id: a uuid"]);
    config = loadConfig(env, process.env);
    setup = activityLogFromConfig(config);
  } catch (err) {
    console.error(
      `usage: DATABASE_URL=postgres://... ACTIVITY_LOG_KEYS=... verify-log [--checkpoint] [organisation-id]\n${
        (err as Error).message
      }`,
    );
    return 2;
  }
  const pool = createPool(config.DATABASE_URL, { applicationName: "vakt-verify-log", max: 1 });
  try {
    if (values.checkpoint) {
      if (!setup.signingKey) {
        console.error("--checkpoint needs ACTIVITY_CHECKPOINT_KEY");
        return 2;
      }
      const written = await createCheckpointer({
        db: pool,
        key: setup.signingKey,
        sinks: setup.sinks,
        now: () => new Date(),
      }).checkpoint(org.data);
      console.log(`wrote ${written.length} checkpoint(s) to ${config.ACTIVITY_CHECKPOINT_FILE}`);
    }
    const orgs = org.data
      ? [{ id: org.data, slug: org.data }]
      : (await pool.query<{ id: string; slug: string }>("SELECT id, slug FROM organisations ORDER BY slug"))
          .rows;
    let broken = 0;
    for (const o of orgs) {
      const result = await verifyActivityLog(pool, o.id, setup);
      if (!result.ok) broken++;
      const covered =
        result.lastCheckpointSeq === null ? "no checkpoint" : `checkpointed to ${result.lastCheckpointSeq}`;
      console.log(
        `${result.ok ? "ok     " : "BROKEN "} ${o.slug}: ${result.rows} rows (${result.legacyRows} legacy), ${
          result.checkpoints
        } checkpoints, ${covered}`,
      );
      for (const f of result.findings) console.log(`  seq ${f.seq}: ${f.kind}: ${f.detail}`);
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
