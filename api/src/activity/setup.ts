/** What the API needs of the activity log, built from configuration (or, for `npm start`, a key file). */
import { createPublicKey, type KeyObject } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { z } from "zod";
import { createOutboundHttp, parseAllowList } from "../outbound";
import {
  type Checkpoint,
  type CheckpointSink,
  fileCheckpointSink,
  formatSigningKey,
  generateSigningKey,
  httpCheckpointSink,
  parseSigningKey,
  parseVerifyKey,
} from "./checkpoints";
import {
  type ActivityKeyring,
  activityLogKeysSchema,
  formatActivityKeyring,
  generateActivityKeyring,
} from "./keys";

/** What the API needs of the activity log: keys to write and verify, and where checkpoints go. */
export interface ActivityLogSetup {
  keyring: ActivityKeyring;
  /** Signs checkpoints; without it none are written. */
  signingKey?: KeyObject;
  /** Checks checkpoints (derived from the signing key when not given). */
  publicKey?: KeyObject;
  sinks: CheckpointSink[];
  /** Reads every checkpoint back for verify (the file sink). */
  readCheckpoints: () => Promise<Checkpoint[]>;
  intervalMs: number;
}

export interface ActivityLogConfig {
  ACTIVITY_LOG_KEYS?: string | undefined;
  ACTIVITY_CHECKPOINT_KEY?: string | undefined;
  ACTIVITY_CHECKPOINT_PUBLIC_KEY?: string | undefined;
  ACTIVITY_CHECKPOINT_FILE: string;
  ACTIVITY_CHECKPOINT_URL?: string | undefined;
  ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: number;
  /** The receiver is reached through the outbound guard; a receiver on a private network needs listing here. */
  OUTBOUND_ALLOW_NETWORKS?: readonly string[] | undefined;
}

/** Builds the setup from parsed configuration; throws with the variable's name on a bad key. */
export function activityLogFromConfig(c: ActivityLogConfig): ActivityLogSetup {
  const keys = c.ACTIVITY_LOG_KEYS ? activityLogKeysSchema.safeParse(c.ACTIVITY_LOG_KEYS) : undefined;
  if (keys && !keys.success) throw new Error(`ACTIVITY_LOG_KEYS: ${keys.error.issues[0]?.message}`);
  let signingKey: KeyObject | undefined;
  let publicKey: KeyObject | undefined;
  try {
    signingKey = c.ACTIVITY_CHECKPOINT_KEY ? parseSigningKey(c.ACTIVITY_CHECKPOINT_KEY) : undefined;
  } catch {
    throw new Error("ACTIVITY_CHECKPOINT_KEY: an Ed25519 private key (PKCS#8 PEM or base64 DER)");
  }
  try {
    publicKey = c.ACTIVITY_CHECKPOINT_PUBLIC_KEY
      ? parseVerifyKey(c.ACTIVITY_CHECKPOINT_PUBLIC_KEY)
      : signingKey
        ? createPublicKey(signingKey)
        : undefined;
  } catch {
    throw new Error("ACTIVITY_CHECKPOINT_PUBLIC_KEY: an Ed25519 public key (SPKI PEM or base64 DER)");
  }
  const file = fileCheckpointSink(c.ACTIVITY_CHECKPOINT_FILE);
  const sinks: CheckpointSink[] = [file];
  if (c.ACTIVITY_CHECKPOINT_URL)
    sinks.push(
      httpCheckpointSink(
        c.ACTIVITY_CHECKPOINT_URL,
        createOutboundHttp({ allow: parseAllowList(c.OUTBOUND_ALLOW_NETWORKS) }),
      ),
    );
  return {
    keyring: keys?.success ? keys.data : generateActivityKeyring("ephemeral"),
    ...(signingKey ? { signingKey } : {}),
    ...(publicKey ? { publicKey } : {}),
    sinks,
    readCheckpoints: file.readAll,
    intervalMs: c.ACTIVITY_CHECKPOINT_INTERVAL_SECONDS * 1000,
  };
}

/**
 * Keys for `npm start`: kept in a file under DATA_DIR (mode 0600) beside the
 * embedded database's folder, made on first start.
 */
export async function loadOrCreateKeyFile(
  path: string,
): Promise<{ ACTIVITY_LOG_KEYS: string; ACTIVITY_CHECKPOINT_KEY: string }> {
  const schema = z.object({ ACTIVITY_LOG_KEYS: z.string(), ACTIVITY_CHECKPOINT_KEY: z.string() });
  try {
    return schema.parse(JSON.parse(await readFile(path, "utf8")));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw new Error(`${path}: not a Vakt key file`);
  }
  const made = {
    ACTIVITY_LOG_KEYS: formatActivityKeyring(generateActivityKeyring("k1")),
    ACTIVITY_CHECKPOINT_KEY: formatSigningKey(generateSigningKey()),
  };
  await mkdir(dirname(path), { recursive: true });
  const { writeFile } = await import("node:fs/promises");
  await writeFile(path, `${JSON.stringify(made)}\n`, { mode: 0o600, flag: "wx" });
  return made;
}
