/**
 * Signed checkpoints of each organisation's chain head (Ed25519), written to sinks outside the
 * database (an append-only JSON-lines file, optionally a receiver over HTTP), on a schedule.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Queryable } from "@vakt/storage";
import { z } from "zod";
import type { OutboundHttp } from "../outbound";

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
