/**
 * The activity log's keyed chain and its anchors outside the database (issue 15, item 7).
 *
 * Each row carries `content_mac = HMAC(key, canonical text)` and
 * `hash = HMAC(key, "vakt-link-v2" | prev_hash | content_mac)`, with the key's id
 * in `key_id`. The keys live in configuration (ACTIVITY_LOG_KEYS), never in the
 * database. Signed checkpoints (organisation, seq, head hash, the head row's
 * time, when signed; Ed25519) go to a sink outside the database, by default an
 * append-only JSON-lines file. `verifyActivityChain` checks both.
 *
 * Keys, canonical text and MACs: keys.ts; checkpoints and their sinks:
 * checkpoints.ts; the setup from configuration: setup.ts. This file verifies and
 * re-exports the rest, so importers keep one entry.
 */
import { type KeyObject, timingSafeEqual } from "node:crypto";
import type { Queryable } from "@vakt/storage";
import { type Checkpoint, checkpointSignatureValid } from "./checkpoints";
import { type ActivityKeyring, CANONICAL_AT_SQL, type CanonicalRow, contentMac, linkHash } from "./keys";

const same = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

export * from "./checkpoints";
export * from "./keys";
export * from "./setup";

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

type AddFinding = (f: Finding) => void;
type Anchor = { seq: number; hash: Buffer } | undefined;

/** The retention anchor (rows up to it were pruned) and the organisation's rows, in seq order. */
async function loadChain(
  db: Queryable,
  organisationId: string,
): Promise<{ anchor: Anchor; rows: StoredRow[] }> {
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
  return { anchor, rows };
}

/** Runs of rows whose hash is not an HMAC under any configured key: one finding per run. */
function forgedRuns(add: AddFinding) {
  let forged: number[] = [];
  return {
    push(seq: number) {
      forged.push(seq);
    },
    flush(endsAtTail: boolean) {
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
    },
  };
}

function canonicalOf(r: StoredRow, keyId: string): CanonicalRow {
  return {
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
    keyId,
  };
}

/** A keyed row: its key is configured, its hash links under it, and its content matches its MAC. */
function checkKeyedRow(
  r: StoredRow,
  keyId: string,
  keyring: ActivityKeyring,
  forged: ReturnType<typeof forgedRuns>,
  add: AddFinding,
) {
  const seq = Number(r.seq);
  const key = keyring.byId.get(keyId);
  if (!key) {
    forged.flush(false);
    add({ kind: "unknown key", seq, detail: `key id ${keyId} is not configured` });
    return;
  }
  const mac = r.content_mac ?? Buffer.alloc(0);
  if (!same(linkHash(key, r.prev_hash, mac), r.hash)) {
    forged.push(seq);
    return;
  }
  forged.flush(false);
  if (!same(contentMac(key, canonicalOf(r, keyId)), mac)) {
    add({ kind: "changed row", seq, detail: "content differs from what was written" });
  }
}

/** A row's place: the seq after the one before (or the anchor) and linking to its hash. */
function checkPlace(r: StoredRow, seq: number, expected: { seq: number; prev: Buffer }, add: AddFinding) {
  if (seq > expected.seq) {
    add({
      kind: "missing row",
      seq: expected.seq,
      detail: seq - expected.seq === 1 ? "row is gone" : `rows ${expected.seq}..${seq - 1} are gone`,
    });
  } else if (seq < expected.seq) {
    add({ kind: "forged anchor", seq, detail: "row at or before the retention anchor still present" });
  } else if (!r.prev_hash.equals(expected.prev)) {
    add({ kind: "missing row", seq, detail: "does not link to the row before it" });
  }
}

/** Walks the rows in seq order: gaps and links, legacy rows (before `legacyEnd`), keys and MACs. */
function checkRows(
  rows: StoredRow[],
  anchor: Anchor,
  legacyEnd: number,
  keyring: ActivityKeyring,
  add: AddFinding,
): { legacyRows: number; bySeq: Map<number, StoredRow> } {
  const expected = { seq: anchor ? anchor.seq + 1 : 1, prev: anchor ? anchor.hash : Buffer.alloc(0) };
  let seenKeyed = false;
  let legacyRows = 0;
  const forged = forgedRuns(add);
  const bySeq = new Map<number, StoredRow>();
  for (const r of rows) {
    const seq = Number(r.seq);
    bySeq.set(seq, r);
    checkPlace(r, seq, expected, add);
    expected.seq = seq + 1;
    expected.prev = r.hash;
    if (r.key_id !== null) {
      seenKeyed = true;
      checkKeyedRow(r, r.key_id, keyring, forged, add);
    } else if (seenKeyed || seq > legacyEnd) {
      forged.flush(false);
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
  }
  forged.flush(true);
  return { legacyRows, bySeq };
}

/** Checkpoints: each must be signed, and the chain must still pass through it. Returns the newest signed seq. */
function checkCheckpoints(
  mine: Checkpoint[],
  signed: (c: Checkpoint) => boolean,
  chain: { anchor: Anchor; lastRowSeq: number; bySeq: Map<number, StoredRow> },
  opts: { publicKey: KeyObject | undefined; now: Date },
  add: AddFinding,
): number | null {
  const { anchor, lastRowSeq, bySeq } = chain;
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
  return lastCheckpointSeq;
}

/** Several checkpoint findings of one kind say the same thing once; in seq order. */
function uniqueFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const k = `${f.kind}|${f.seq}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return unique.sort((a, b) => a.seq - b.seq);
}

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
  const { anchor, rows } = await loadChain(db, organisationId);
  // Checkpoints are signed only by versions that write keyed rows, so an
  // unkeyed row after a valid checkpoint cannot be a legacy row.
  const mine = opts.checkpoints.filter((c) => c.organisationId === organisationId || c.signature === "");
  const signed = (c: Checkpoint) =>
    opts.publicKey !== undefined && c.signature !== "" && checkpointSignatureValid(opts.publicKey, c);
  const legacyEnd = Math.min(...mine.filter(signed).map((c) => c.seq), Number.POSITIVE_INFINITY);
  const { legacyRows, bySeq } = checkRows(rows, anchor, legacyEnd, opts.keyring, add);
  const lastRowSeq = rows.length > 0 ? Number(rows[rows.length - 1]?.seq) : (anchor?.seq ?? 0);
  const lastCheckpointSeq = checkCheckpoints(mine, signed, { anchor, lastRowSeq, bySeq }, opts, add);
  const unique = uniqueFindings(findings);
  return {
    ok: unique.length === 0,
    rows: rows.length,
    legacyRows,
    checkpoints: mine.length,
    lastCheckpointSeq,
    findings: unique,
  };
}
