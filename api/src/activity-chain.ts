/**
 * The activity log's keyed chain and its anchors outside the database (issue 15, item 7).
 *
 * Each row carries `content_mac = HMAC(key, canonical text)` and
 * `hash = HMAC(key, "vakt-link-v2" | prev_hash | content_mac)`, with the key's id
 * in `key_id`. The keys live in configuration (ACTIVITY_LOG_KEYS), never in the
 * database. Signed checkpoints (organisation, seq, head hash, the head row's
 * time, when signed; Ed25519) go to a sink outside the database, by default an
 * append-only JSON-lines file. `verifyActivityChain` checks both.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Queryable } from "@vakt/storage";
import { z } from "zod";
import { createOutboundHttp, type OutboundHttp, parseAllowList } from "./outbound";

export interface ActivityKeyring {
  /** New rows are written with this key. */
  current: { id: string; key: Buffer };
  /** Every key that may have written a row, by id (the current one included). */
  byId: Map<string, Buffer>;
}

const keyIdPattern = /^[A-Za-z0-9_.-]{1,32}$/;

/** `id:base64[,id:base64...]`; the first key writes new rows, the others still verify. */
export const activityLogKeysSchema = z.string().transform((s, ctx): ActivityKeyring | typeof z.NEVER => {
  const byId = new Map<string, Buffer>();
  let first: { id: string; key: Buffer } | undefined;
  for (const part of s
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = part.indexOf(":");
    const id = part.slice(0, at);
    const key = Buffer.from(part.slice(at + 1), "base64");
    if (at < 1 || !keyIdPattern.test(id) || key.length < 32 || byId.has(id)) {
      ctx.addIssue({
        code: "custom",
        message: "a list of keyId:base64 with unique ids ([A-Za-z0-9_.-]) and keys of 32+ bytes",
      });
      return z.NEVER;
    }
    byId.set(id, key);
    first ??= { id, key };
  }
  if (!first) {
    ctx.addIssue({ code: "custom", message: "at least one keyId:base64 key" });
    return z.NEVER;
  }
  return { current: first, byId };
});

export function generateActivityKeyring(id = "k1"): ActivityKeyring {
  const key = randomBytes(32);
  return { current: { id, key }, byId: new Map([[id, key]]) };
}

/** The text form of a keyring, for ACTIVITY_LOG_KEYS or a key file. */
export const formatActivityKeyring = (k: ActivityKeyring) =>
  [...k.byId].map(([id, key]) => `${id}:${key.toString("base64")}`).join(",");

/** The row's fields as the database renders them (the SQL below), so writer and verifier agree. */
export interface CanonicalRow {
  organisationId: string;
  seq: string;
  id: string;
  at: string;
  actorType: string;
  actorId: string | null;
  sessionId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  recipientIds: string[];
  reason: string | null;
  details: string;
  ip: string | null;
  keyId: string;
}

/** SQL expressions rendering each canonical field; used when writing and when verifying. */
export const CANONICAL_AT_SQL = (e: string) =>
  `to_char((${e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export function canonicalText(r: CanonicalRow): string {
  return JSON.stringify([
    "v2",
    r.organisationId,
    r.seq,
    r.id,
    r.at,
    r.actorType,
    r.actorId,
    r.sessionId,
    r.action,
    r.subjectType,
    r.subjectId,
    r.recipientIds,
    r.reason,
    r.details,
    r.ip,
    r.keyId,
  ]);
}

export const contentMac = (key: Buffer, r: CanonicalRow) =>
  createHmac("sha256", key).update(canonicalText(r), "utf8").digest();

export const linkHash = (key: Buffer, prevHash: Buffer, mac: Buffer) =>
  createHmac("sha256", key).update("vakt-link-v2|").update(prevHash).update("|").update(mac).digest();

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

// --- checkpoints --------------------------------------------------------------

export interface Checkpoint {
  v: 1;
  organisationId: string;
  seq: number;
  /** hex of the head row's hash */
  headHash: string;
  /** the head row's `at` */
  headAt: string;
  /** when the checkpoint was signed */
  signedAt: string;
  /** base64 Ed25519 signature over the other fields */
  signature: string;
}

export const checkpointSchema = z.object({
  v: z.literal(1),
  organisationId: z.uuid(),
  seq: z.number().int().positive(),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  headAt: z.iso.datetime(),
  signedAt: z.iso.datetime(),
  signature: z.base64(),
});

const signedBytes = (c: Omit<Checkpoint, "signature">) =>
  Buffer.from(
    JSON.stringify(["vakt-checkpoint-v1", c.organisationId, c.seq, c.headHash, c.headAt, c.signedAt]),
    "utf8",
  );

/** PEM (PKCS#8) or base64 DER of an Ed25519 private key. */
export function parseSigningKey(text: string): KeyObject {
  const key = text.includes("-----BEGIN")
    ? createPrivateKey(text)
    : createPrivateKey({ key: Buffer.from(text, "base64"), format: "der", type: "pkcs8" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 private key");
  return key;
}

/** PEM (SPKI) or base64 DER of an Ed25519 public key. */
export function parseVerifyKey(text: string): KeyObject {
  const key = text.includes("-----BEGIN")
    ? createPublicKey(text)
    : createPublicKey({ key: Buffer.from(text, "base64"), format: "der", type: "spki" });
  if (key.asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 public key");
  return key;
}

export const signingKeySchema = z.string().transform((s, ctx) => {
  try {
    return parseSigningKey(s);
  } catch {
    ctx.addIssue({ code: "custom", message: "an Ed25519 private key (PKCS#8 PEM or base64 DER)" });
    return z.NEVER;
  }
});

export function generateSigningKey(): KeyObject {
  return generateKeyPairSync("ed25519").privateKey;
}
export const formatSigningKey = (k: KeyObject) =>
  (k.export({ format: "der", type: "pkcs8" }) as Buffer).toString("base64");

export function signCheckpoint(key: KeyObject, c: Omit<Checkpoint, "signature" | "v">): Checkpoint {
  const body = { v: 1 as const, ...c };
  return { ...body, signature: sign(null, signedBytes(body), key).toString("base64") };
}

export function checkpointSignatureValid(publicKey: KeyObject, c: Checkpoint): boolean {
  try {
    return verify(null, signedBytes(c), publicKey, Buffer.from(c.signature, "base64"));
  } catch {
    return false;
  }
}

/** Where checkpoints go. Only `append` is needed to write; `readAll` to verify. */
export interface CheckpointSink {
  append(c: Checkpoint): Promise<void>;
  readAll?(): Promise<Checkpoint[]>;
}

/** An append-only JSON-lines file (opened with O_APPEND for each checkpoint). */
export function fileCheckpointSink(path: string): CheckpointSink & { readAll(): Promise<Checkpoint[]> } {
  return {
    async append(c) {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, `${JSON.stringify(c)}\n`, { encoding: "utf8", mode: 0o640, flag: "a" });
    },
    readAll: () => readCheckpointFile(path),
  };
}

/** Posts each checkpoint as JSON to a receiver that keeps them (e.g. another site's log store). */
export function httpCheckpointSink(url: string, http: OutboundHttp): CheckpointSink {
  return {
    async append(c) {
      const res = await http.fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(c),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`checkpoint receiver answered ${res.status}`);
    },
  };
}

/** Reads a checkpoint file; a line that does not parse becomes a malformed entry (reported by verify). */
export async function readCheckpointFile(path: string): Promise<Checkpoint[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const out: Checkpoint[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const parsed = checkpointSchema.safeParse(value);
    // A malformed line is kept with an empty signature so verify names it.
    out.push(
      parsed.success
        ? parsed.data
        : {
            v: 1,
            organisationId: "",
            seq: 0,
            headHash: "",
            headAt: "",
            signedAt: "",
            signature: "",
          },
    );
  }
  return out;
}

/**
 * Writes a checkpoint of each organisation whose head moved since its last
 * checkpoint by this writer (or of the given organisation, on demand).
 */
export function createCheckpointer(opts: {
  db: Queryable;
  key: KeyObject;
  sinks: CheckpointSink[];
  now: () => Date;
}) {
  const last = new Map<string, number>();
  async function checkpoint(organisationId?: string): Promise<Checkpoint[]> {
    const { rows } = await opts.db.query<{ organisation_id: string; seq: string; hash: Buffer; at: Date }>(
      `SELECT DISTINCT ON (organisation_id) organisation_id, seq, hash, at FROM activity_log
        WHERE $1::uuid IS NULL OR organisation_id = $1 ORDER BY organisation_id, seq DESC`,
      [organisationId ?? null],
    );
    const written: Checkpoint[] = [];
    for (const r of rows) {
      const seq = Number(r.seq);
      if (organisationId === undefined && last.get(r.organisation_id) === seq) continue;
      const c = signCheckpoint(opts.key, {
        organisationId: r.organisation_id,
        seq,
        headHash: r.hash.toString("hex"),
        headAt: r.at.toISOString(),
        signedAt: opts.now().toISOString(),
      });
      for (const sink of opts.sinks) await sink.append(c);
      last.set(r.organisation_id, seq);
      written.push(c);
    }
    return written;
  }
  return { checkpoint };
}

/** Runs the checkpointer every `intervalMs`; `stop()` writes a last one. */
export function startCheckpointSchedule(
  cp: ReturnType<typeof createCheckpointer>,
  intervalMs: number,
  onError: (err: unknown) => void,
) {
  let running: Promise<unknown> = Promise.resolve();
  const tick = () => {
    running = running.then(() => cp.checkpoint().catch(onError));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      tick();
      await running;
    },
  };
}

// --- verification ---------------------------------------------------------------

export type FindingKind =
  | "changed row"
  | "missing row"
  | "inserted row"
  | "unknown key"
  | "tail truncated after a checkpoint"
  | "chain rewritten"
  | "forged anchor"
  | "bad checkpoint";

export interface Finding {
  kind: FindingKind;
  seq: number;
  detail: string;
}

export interface ChainVerification {
  ok: boolean;
  rows: number;
  /** Rows before the organisation's first keyed row, checked with the unkeyed rule of 0004. */
  legacyRows: number;
  checkpoints: number;
  /** The newest checkpoint's seq: rows after it are covered by the key only. */
  lastCheckpointSeq: number | null;
  findings: Finding[];
}

/** Rows younger than this cannot have been pruned (retention_settings.activity_log_days >= 730). */
export const MIN_RETENTION_DAYS = 730;

interface StoredRow {
  seq: string;
  prev_hash: Buffer;
  hash: Buffer;
  content_mac: Buffer | null;
  legacy_ok: boolean;
  organisation_id: string;
  id: string;
  at_text: string;
  actor_type: string;
  actor_id: string | null;
  session_id: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  recipient_ids: string[];
  reason: string | null;
  details_text: string;
  ip_text: string | null;
  key_id: string | null;
}

const MAX_FINDINGS = 100;

/**
 * Verifies an organisation's chain with the keys, and every checkpoint of it
 * with the public key. Names each problem found (at most 100).
 */
export async function verifyActivityChain(
  db: Queryable,
  organisationId: string,
  opts: {
    keyring: ActivityKeyring;
    checkpoints: Checkpoint[];
    publicKey: KeyObject | undefined;
    now: Date;
  },
): Promise<ChainVerification> {
  const findings: Finding[] = [];
  const add = (f: Finding) => {
    if (findings.length < MAX_FINDINGS) findings.push(f);
  };
  const anchorRes = await db.query<{ upto_seq: string; upto_hash: Buffer }>(
    "SELECT upto_seq, upto_hash FROM activity_log_anchors WHERE organisation_id = $1",
    [organisationId],
  );
  const anchor = anchorRes.rows[0]
    ? { seq: Number(anchorRes.rows[0].upto_seq), hash: anchorRes.rows[0].upto_hash }
    : undefined;
  const { rows } = await db.query<StoredRow>(
    `SELECT a.seq, a.prev_hash, a.hash, a.content_mac,
            (a.key_id IS NULL AND a.hash = sha256(a.prev_hash || convert_to(vakt_activity_log_row_text(a), 'UTF8'))) AS legacy_ok,
            a.organisation_id::text, a.id::text, ${CANONICAL_AT_SQL("a.at")} AS at_text, a.actor_type,
            a.actor_id::text, a.session_id, a.action, a.subject_type, a.subject_id::text,
            a.recipient_ids::text[] AS recipient_ids, a.reason, a.details::text AS details_text,
            host(a.ip) AS ip_text, a.key_id
       FROM activity_log a WHERE a.organisation_id = $1 ORDER BY a.seq`,
    [organisationId],
  );

  let expectedSeq = anchor ? anchor.seq + 1 : 1;
  let expectedPrev = anchor ? anchor.hash : Buffer.alloc(0);
  let seenKeyed = false;
  // Checkpoints are signed only by versions that write keyed rows, so an
  // unkeyed row after a valid checkpoint cannot be a legacy row.
  const mine = opts.checkpoints.filter((c) => c.organisationId === organisationId || c.signature === "");
  const signed = (c: Checkpoint) =>
    opts.publicKey !== undefined && c.signature !== "" && checkpointSignatureValid(opts.publicKey, c);
  const legacyEnd = Math.min(...mine.filter(signed).map((c) => c.seq), Number.POSITIVE_INFINITY);
  let legacyRows = 0;
  // Runs of rows whose hash is not an HMAC under any configured key.
  let forged: number[] = [];
  const flushForged = (endsAtTail: boolean) => {
    if (forged.length === 1) {
      add({
        kind: "inserted row",
        seq: forged[0] as number,
        detail: "its hash was not made with the configured key",
      });
    } else if (forged.length > 1) {
      add({
        kind: "chain rewritten",
        seq: forged[0] as number,
        detail: `${forged.length} consecutive rows (seq ${forged[0]}..${forged[forged.length - 1]}${
          endsAtTail ? ", to the head" : ""
        }) carry hashes not made with the configured key`,
      });
    }
    forged = [];
  };
  const bySeq = new Map<number, StoredRow>();
  for (const r of rows) {
    const seq = Number(r.seq);
    bySeq.set(seq, r);
    if (seq > expectedSeq) {
      add({
        kind: "missing row",
        seq: expectedSeq,
        detail: seq - expectedSeq === 1 ? "row is gone" : `rows ${expectedSeq}..${seq - 1} are gone`,
      });
    } else if (seq < expectedSeq) {
      add({ kind: "forged anchor", seq, detail: "row at or before the retention anchor still present" });
    } else if (!r.prev_hash.equals(expectedPrev)) {
      add({ kind: "missing row", seq, detail: "does not link to the row before it" });
    }
    expectedSeq = seq + 1;
    expectedPrev = r.hash;

    if (r.key_id === null) {
      if (seenKeyed || seq > legacyEnd) {
        flushForged(false);
        add({
          kind: "inserted row",
          seq,
          detail: seenKeyed
            ? "an unkeyed row after keyed rows began"
            : "an unkeyed row after a signed checkpoint",
        });
      } else {
        legacyRows++;
        if (!r.legacy_ok) add({ kind: "changed row", seq, detail: "legacy row does not match its hash" });
      }
      continue;
    }
    seenKeyed = true;
    const key = opts.keyring.byId.get(r.key_id);
    if (!key) {
      flushForged(false);
      add({ kind: "unknown key", seq, detail: `key id ${r.key_id} is not configured` });
      continue;
    }
    const mac = r.content_mac ?? Buffer.alloc(0);
    if (!same(linkHash(key, r.prev_hash, mac), r.hash)) {
      forged.push(seq);
      continue;
    }
    flushForged(false);
    const canonical: CanonicalRow = {
      organisationId: r.organisation_id,
      seq: r.seq,
      id: r.id,
      at: r.at_text,
      actorType: r.actor_type,
      actorId: r.actor_id,
      sessionId: r.session_id,
      action: r.action,
      subjectType: r.subject_type,
      subjectId: r.subject_id,
      recipientIds: r.recipient_ids,
      reason: r.reason,
      details: r.details_text,
      ip: r.ip_text,
      keyId: r.key_id,
    };
    if (!same(contentMac(key, canonical), mac)) {
      add({ kind: "changed row", seq, detail: "content differs from what was written" });
    }
  }
  flushForged(true);
  const lastRowSeq = rows.length > 0 ? Number(rows[rows.length - 1]?.seq) : (anchor?.seq ?? 0);

  // Checkpoints: each must be signed, and the chain must still pass through it.
  let lastCheckpointSeq: number | null = null;
  const pruneHorizon = opts.now.getTime() - MIN_RETENTION_DAYS * 86_400_000;
  for (const c of mine) {
    if (!signed(c)) {
      add({
        kind: "bad checkpoint",
        seq: c.seq,
        detail: opts.publicKey
          ? "checkpoint malformed or its signature does not verify"
          : "no public key to check checkpoints",
      });
      continue;
    }
    lastCheckpointSeq = Math.max(lastCheckpointSeq ?? 0, c.seq);
    const row = bySeq.get(c.seq);
    if (anchor && c.seq <= anchor.seq) {
      if (Date.parse(c.headAt) > pruneHorizon) {
        add({
          kind: "forged anchor",
          seq: c.seq,
          detail: `the anchor claims rows up to ${anchor.seq} were removed by retention, but checkpointed row ${c.seq} is from ${c.headAt}, younger than ${MIN_RETENTION_DAYS} days`,
        });
      } else if (c.seq === anchor.seq && anchor.hash.toString("hex") !== c.headHash) {
        add({ kind: "chain rewritten", seq: c.seq, detail: "the anchor's hash differs from the checkpoint" });
      }
    } else if (c.seq > lastRowSeq) {
      add({
        kind: "tail truncated after a checkpoint",
        seq: lastRowSeq + 1,
        detail: `checkpoint signed at ${c.signedAt} has seq ${c.seq}; the log ends at ${lastRowSeq}`,
      });
    } else if (!row) {
      // A gap already reported as a missing row.
    } else if (row.hash.toString("hex") !== c.headHash) {
      add({
        kind: "chain rewritten",
        seq: c.seq,
        detail: `row ${c.seq}'s hash differs from the checkpoint signed at ${c.signedAt}`,
      });
    }
  }
  // Several checkpoint findings of one kind say the same thing once.
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const k = `${f.kind}|${f.seq}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => a.seq - b.seq);
  return {
    ok: unique.length === 0,
    rows: rows.length,
    legacyRows,
    checkpoints: mine.length,
    lastCheckpointSeq,
    findings: unique,
  };
}

// --- wiring -----------------------------------------------------------------------

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
