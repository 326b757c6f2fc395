/**
 * Issue 15, item 7: each tampering done by someone with the database (a
 * superuser, triggers off where needed) is detected by verify and named.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHarness, createOrg, type Harness } from "../../test/harness";
import { startApiServer } from "../server";
import {
  type ActivityKeyring,
  activityLogKeysSchema,
  createCheckpointer,
  type Finding,
  generateActivityKeyring,
} from "./chain";
import { verifyActivityLog } from "./reader";
import { activityKeyring, appendActivityRow } from "./writer";

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h.close();
});

const append = (org: string, action: string, k?: ActivityKeyring) =>
  appendActivityRow(
    h.db.pool,
    {
      organisationId: org,
      at: h.clock.now,
      actorType: "system",
      action,
      reason: "check",
      details: { n: action, nested: { b: 1, a: [1, 2] } },
      recipientIds: [],
      ip: "192.0.2.7",
    },
    k,
  );

const checkpoint = (org: string) =>
  createCheckpointer({
    db: h.db.pool,
    key: h.activityLog.signingKey as NonNullable<Harness["activityLog"]["signingKey"]>,
    sinks: h.activityLog.sinks,
    now: () => h.clock.now,
  }).checkpoint(org);

/** An organisation with rows 1..5 and a signed checkpoint at 5. */
async function logged(): Promise<string> {
  const org = (await createOrg(h)).organisationId;
  for (let i = 1; i <= 5; i++) await append(org, `test.row${i}`);
  await checkpoint(org);
  return org;
}

const verify = async (org: string) => verifyActivityLog(h.db.pool, org, h.activityLog, h.clock.now);
const kinds = (fs: Finding[]) => fs.map((f) => `${f.kind}@${f.seq}`);

/** A superuser's session with every trigger off (session_replication_role = replica). */
async function asSuperuserWithoutTriggers(
  work: (q: (sql: string, v?: unknown[]) => Promise<unknown>) => Promise<unknown>,
) {
  const client = await h.db.pool.connect();
  try {
    await client.query("SET session_replication_role = replica");
    await work((sql, v) => client.query(sql, v));
  } finally {
    await client.query("RESET session_replication_role");
    client.release();
  }
}

describe("activity log tampering", () => {
  it("verifies an untouched chain and its checkpoint", async () => {
    const org = await logged();
    const r = await verify(org);
    expect(r).toMatchObject({ ok: true, rows: 5, legacyRows: 0, checkpoints: 1, lastCheckpointSeq: 5 });
    expect(r.findings).toEqual([]);
  });

  it("names a changed row", async () => {
    const org = await logged();
    await asSuperuserWithoutTriggers((q) =>
      q("UPDATE activity_log SET reason = 'edited' WHERE organisation_id = $1 AND seq = 2", [org]),
    );
    expect(kinds((await verify(org)).findings)).toEqual(["changed row@2"]);
  });

  it("names a deleted middle row as missing", async () => {
    const org = await logged();
    await asSuperuserWithoutTriggers((q) =>
      q("DELETE FROM activity_log WHERE organisation_id = $1 AND seq = 3", [org]),
    );
    expect(kinds((await verify(org)).findings)).toEqual(["missing row@3"]);
  });

  it("names a row inserted through the normal path without the key (wrong key, or unkeyed)", async () => {
    const org = await logged();
    await append(org, "forged.row", generateActivityKeyring("test1")); // same key id, guessed key
    await append(org, "after.forged"); // the application carries on on top of it
    expect(kinds((await verify(org)).findings)).toEqual(["inserted row@6"]);

    // A plain INSERT, which the trigger still chains with the legacy unkeyed rule.
    await h.db.pool.query(
      `INSERT INTO activity_log (organisation_id, seq, actor_type, action, prev_hash, hash)
       VALUES ($1, 0, 'system', 'sql.insert', '\\x', '\\x')`,
      [org],
    );
    expect(kinds((await verify(org)).findings)).toEqual(["inserted row@6", "inserted row@8"]);
  });

  it("names a chain rewritten from an edited row on with a guessed key", async () => {
    const org = await logged();
    const guessed = generateActivityKeyring("test1");
    await asSuperuserWithoutTriggers(async (q) => {
      await q("DELETE FROM activity_log WHERE organisation_id = $1 AND seq >= 2", [org]);
    });
    // Rows 2..5 written again, row 2 edited, every later hash recomputed, with a key that is not ours.
    await append(org, "test.row2-edited", guessed);
    for (let i = 3; i <= 5; i++) await append(org, `test.row${i}`, guessed);
    const r = await verify(org);
    expect(r.ok).toBe(false);
    expect(kinds(r.findings)).toEqual(["chain rewritten@2", "chain rewritten@5"]);
    expect(r.findings[1]?.detail).toMatch(/differs from the checkpoint/);
  });

  it("names the last rows deleted after a checkpoint as a truncated tail", async () => {
    const org = await logged();
    await asSuperuserWithoutTriggers((q) =>
      q("DELETE FROM activity_log WHERE organisation_id = $1 AND seq >= 4", [org]),
    );
    expect(kinds((await verify(org)).findings)).toEqual(["tail truncated after a checkpoint@4"]);
  });

  it("names the head removed behind a forged retention anchor", async () => {
    const org = await logged();
    await asSuperuserWithoutTriggers(async (q) => {
      await q(
        `INSERT INTO activity_log_anchors (organisation_id, upto_seq, upto_hash, upto_at, pruned_rows)
         SELECT organisation_id, seq, hash, at, seq FROM activity_log WHERE organisation_id = $1 AND seq = 5`,
        [org],
      );
      await q("DELETE FROM activity_log WHERE organisation_id = $1", [org]);
    });
    const r = await verify(org);
    expect(r).toMatchObject({ ok: false, rows: 0 });
    expect(kinds(r.findings)).toEqual(["forged anchor@5"]);
  });

  it("names a checkpoint whose signature does not verify, and a row under an unknown key", async () => {
    const org = await logged();
    const file = h.activityEnv.ACTIVITY_CHECKPOINT_FILE;
    const text = await readFile(file, "utf8");
    const forged = text
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((c) => c.organisationId === org)
      .map((c) => JSON.stringify({ ...c, seq: 4 }));
    await writeFile(file, `${text}${forged.join("\n")}\n`);
    await append(
      org,
      "other.key",
      activityLogKeysSchema.parse(`gone:${Buffer.alloc(32, 9).toString("base64")}`),
    );
    expect(kinds((await verify(org)).findings)).toEqual(["bad checkpoint@4", "unknown key@6"]);
  });

  it("still verifies legacy rows written before keys, under the unkeyed rule", async () => {
    const org = (await createOrg(h)).organisationId;
    for (let i = 0; i < 3; i++) {
      await h.db.pool.query(
        `INSERT INTO activity_log (organisation_id, seq, actor_type, action, prev_hash, hash)
         VALUES ($1, 0, 'system', 'legacy.row', '\\x', '\\x')`,
        [org],
      );
    }
    await append(org, "keyed.row");
    await checkpoint(org);
    expect(await verify(org)).toMatchObject({ ok: true, rows: 4, legacyRows: 3, findings: [] });
    await asSuperuserWithoutTriggers((q) =>
      q("UPDATE activity_log SET action = 'edited' WHERE organisation_id = $1 AND seq = 2", [org]),
    );
    expect(kinds((await verify(org)).findings)).toEqual(["changed row@2"]);
    expect(activityKeyring().current.id).toBe("test1");
  });

  it("names an unkeyed row appended to an all-legacy log after its first checkpoint as inserted", async () => {
    const org = (await createOrg(h)).organisationId;
    const legacy = (action: string) =>
      h.db.pool.query(
        `INSERT INTO activity_log (organisation_id, seq, actor_type, action, prev_hash, hash)
         VALUES ($1, 0, 'system', $2, '\\x', '\\x')`,
        [org, action],
      );
    await legacy("legacy.row");
    await legacy("legacy.row");
    await checkpoint(org);
    expect(await verify(org)).toMatchObject({ ok: true, legacyRows: 2 });
    await legacy("after.checkpoint");
    expect(kinds((await verify(org)).findings)).toEqual(["inserted row@3"]);
  });

  it("is checkpointed by the API server on demand and at shutdown", async () => {
    const org = (await createOrg(h)).organisationId;
    await append(org, "before.server");
    const api = await startApiServer({ ...h.deps, port: 0, host: "127.0.0.1", live: false, alerting: false });
    const onDemand = await api.checkpoint(org);
    expect(onDemand.map((c) => c.seq)).toEqual([1]);
    await append(org, "while.running");
    await api.close();
    const mine = (await h.activityLog.readCheckpoints()).filter((c) => c.organisationId === org);
    expect(mine.map((c) => c.seq)).toEqual([1, 2]);
    expect(await verify(org)).toMatchObject({ ok: true, checkpoints: 2, lastCheckpointSeq: 2 });
  });
});
