/**
 * `npm run create-organisation -w @vakt/api -- --name "Bergen kommune" --slug bergen \
 *    --admin-email anne@bergen.kommune.no --admin-first-name Anne --admin-last-name Admin`
 *
 * Organisations are created by whoever runs the platform, not through the API
 * (no organisation may create another). Prints the first administrator's
 * invitation link, valid for 7 days; the administrator chooses a password there.
 */
import { parseArgs } from "node:util";
import { activityLogEnv } from "@vakt/schemas";
import { createPool, migrate } from "@vakt/storage";
import { z } from "zod";
import { activityLogKeysSchema } from "../activity/chain";
import { useActivityKeyring } from "../activity/writer";
import { createOrganisation } from "../organisations/service";

const input = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL"),
  MIGRATION_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "a postgres:// URL")
    .optional(),
  PUBLIC_URL: z.url().default("http://localhost:3000"),
  /** The organisation's first activity-log rows are keyed with these (the API's keys). */
  ACTIVITY_LOG_KEYS: activityLogEnv.shape.ACTIVITY_LOG_KEYS.unwrap(),
  name: z.string().trim().min(1).max(200),
  slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lower-case letters, digits and -"),
  adminEmail: z.email(),
  adminFirstName: z.string().trim().min(1),
  adminLastName: z.string().trim().min(1),
  allowWithoutSecondFactor: z.boolean(),
});

const { values } = parseArgs({
  options: {
    name: { type: "string" },
    slug: { type: "string" },
    "admin-email": { type: "string" },
    "admin-first-name": { type: "string" },
    "admin-last-name": { type: "string" },
    // Administrators must use a second factor unless this is given.
    "allow-without-second-factor": { type: "boolean", default: false },
  },
});
const parsed = input.safeParse({
  DATABASE_URL: process.env.DATABASE_URL,
  MIGRATION_DATABASE_URL: process.env.MIGRATION_DATABASE_URL || undefined,
  PUBLIC_URL: process.env.PUBLIC_URL || undefined,
  ACTIVITY_LOG_KEYS: process.env.ACTIVITY_LOG_KEYS,
  name: values.name,
  slug: values.slug,
  adminEmail: values["admin-email"],
  adminFirstName: values["admin-first-name"],
  adminLastName: values["admin-last-name"],
  allowWithoutSecondFactor: values["allow-without-second-factor"],
});
if (!parsed.success) {
  for (const i of parsed.error.issues)
    console.error(`create-organisation: ${i.path.join(".")}: ${i.message}`);
  process.exit(2);
}
const a = parsed.data;
useActivityKeyring(activityLogKeysSchema.parse(a.ACTIVITY_LOG_KEYS));
const pool = createPool(a.DATABASE_URL, { max: 1, applicationName: "vakt-create-organisation" });
try {
  const owner = createPool(a.MIGRATION_DATABASE_URL ?? a.DATABASE_URL, { max: 1 });
  try {
    const client = await owner.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } finally {
    await owner.end();
  }
  const created = await createOrganisation(pool, {
    name: a.name,
    slug: a.slug,
    admin: { email: a.adminEmail, firstName: a.adminFirstName, lastName: a.adminLastName },
    requireAdminSecondFactor: !a.allowWithoutSecondFactor,
  });
  const link = `${a.PUBLIC_URL.replace(/\/$/, "")}/invitation#token=${created.invitation?.token}`;
  console.log(`organisation ${a.slug} created (${created.organisationId})`);
  console.log(`first administrator ${a.adminEmail}: choose a password within 7 days at\n  ${link}`);
} catch (err) {
  console.error(`create-organisation: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
