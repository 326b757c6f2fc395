import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createOutboundHttp, parseAllowList } from "../outbound";
import {
  activityLogFromConfig,
  activityLogKeysSchema,
  checkpointSignatureValid,
  fileCheckpointSink,
  generateSigningKey,
  httpCheckpointSink,
  linkHash,
  loadOrCreateKeyFile,
  readCheckpointFile,
  signCheckpoint,
  startCheckpointSchedule,
} from "./chain";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");
const body = {
  organisationId: "6f1c1c5e-5b0e-4c43-9d43-3a4a3b2c1d0e",
  seq: 3,
  headHash: "ab".repeat(32),
  headAt: "2026-03-02T10:00:00.000Z",
  signedAt: "2026-03-02T10:05:00.000Z",
};

describe("activity-log keys", () => {
  it("parses keyId:base64 lists, the first key writing, and refuses short, duplicate or malformed keys", () => {
    const k = activityLogKeysSchema.parse(`new:${key(1)},old:${key(2)}`);
    expect(k.current.id).toBe("new");
    expect([...k.byId.keys()]).toEqual(["new", "old"]);
    for (const bad of ["", `a:${Buffer.alloc(16).toString("base64")}`, `a:${key(1)},a:${key(2)}`, key(1)]) {
      expect(activityLogKeysSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(() =>
      activityLogFromConfig({
        ACTIVITY_LOG_KEYS: "x",
        ACTIVITY_CHECKPOINT_FILE: "f",
        ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 1,
      }),
    ).toThrow(/ACTIVITY_LOG_KEYS/);
    expect(() =>
      activityLogFromConfig({
        ACTIVITY_CHECKPOINT_KEY: "not a key at all, but long enough to pass",
        ACTIVITY_CHECKPOINT_FILE: "f",
        ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 1,
      }),
    ).toThrow(/ACTIVITY_CHECKPOINT_KEY/);
  });

  it("makes the link depend on the key, the previous hash and the content MAC", () => {
    const a = Buffer.alloc(32, 1);
    const prev = Buffer.from("prev");
    const mac = Buffer.from("mac");
    expect(linkHash(a, prev, mac).equals(linkHash(a, prev, mac))).toBe(true);
    expect(linkHash(Buffer.alloc(32, 2), prev, mac).equals(linkHash(a, prev, mac))).toBe(false);
    expect(linkHash(a, Buffer.from("other"), mac).equals(linkHash(a, prev, mac))).toBe(false);
    expect(linkHash(a, prev, Buffer.from("other")).equals(linkHash(a, prev, mac))).toBe(false);
  });
});

describe("checkpoints", () => {
  it("signs with Ed25519 and refuses any changed field or another key", () => {
    const k = generateSigningKey();
    const c = signCheckpoint(k, body);
    const pub = activityLogFromConfig({
      ACTIVITY_CHECKPOINT_KEY: k.export({ format: "pem", type: "pkcs8" }) as string,
      ACTIVITY_CHECKPOINT_FILE: "f",
      ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 1,
    }).publicKey;
    if (!pub) throw new Error("no public key");
    expect(checkpointSignatureValid(pub, c)).toBe(true);
    expect(checkpointSignatureValid(pub, { ...c, seq: 4 })).toBe(false);
    expect(checkpointSignatureValid(pub, { ...c, headHash: "cd".repeat(32) })).toBe(false);
    const other = signCheckpoint(generateSigningKey(), body);
    expect(checkpointSignatureValid(pub, other)).toBe(false);
  });

  it("appends JSON lines to the file and reads a malformed line back as an unsigned entry", async () => {
    const file = join(tmpdir(), `vakt-cp-${randomBytes(4).toString("hex")}`, "c.jsonl");
    try {
      const sink = fileCheckpointSink(file);
      const c = signCheckpoint(generateSigningKey(), body);
      await sink.append(c);
      await sink.append({ ...c, seq: 4 });
      expect((await readFile(file, "utf8")).split("\n").filter(Boolean)).toHaveLength(2);
      expect((await sink.readAll()).map((x) => x.seq)).toEqual([3, 4]);
      await (await import("node:fs/promises")).appendFile(file, "{not json\n");
      const all = await readCheckpointFile(file);
      expect(all).toHaveLength(3);
      expect(all[2]?.signature).toBe("");
    } finally {
      await rm(join(file, ".."), { recursive: true, force: true });
    }
  });

  it("posts each checkpoint to an HTTP receiver and fails on a refusal", async () => {
    const got: unknown[] = [];
    let status = 204;
    const server = createServer((req, res) => {
      let text = "";
      req.on("data", (d) => {
        text += d;
      });
      req.on("end", () => {
        got.push(JSON.parse(text));
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    try {
      const url = `http://127.0.0.1:${port}/checkpoints`;
      const c = signCheckpoint(generateSigningKey(), body);
      // The receiver is on loopback: refused unless the site allows the network.
      await expect(httpCheckpointSink(url, createOutboundHttp()).append(c)).rejects.toThrow(/fetch failed/);
      expect(got).toEqual([]);
      const sink = httpCheckpointSink(url, createOutboundHttp({ allow: parseAllowList("127.0.0.1/32") }));
      await sink.append(c);
      expect(got).toEqual([c]);
      status = 500;
      await expect(sink.append(c)).rejects.toThrow(/500/);
    } finally {
      server.close();
    }
  });

  it("runs on an interval and once more when stopped", async () => {
    let calls = 0;
    const schedule = startCheckpointSchedule(
      {
        checkpoint: async () => {
          calls++;
          return [];
        },
      },
      20,
      () => {},
    );
    await new Promise((r) => setTimeout(r, 75));
    const before = calls;
    expect(before).toBeGreaterThanOrEqual(2);
    await schedule.stop();
    expect(calls).toBe(before + 1);
  });

  it("keeps npm start's keys in a file made once", async () => {
    const file = join(tmpdir(), `vakt-keys-${randomBytes(4).toString("hex")}`, "keys.json");
    try {
      const first = await loadOrCreateKeyFile(file);
      expect(await loadOrCreateKeyFile(file)).toEqual(first);
      expect(activityLogKeysSchema.safeParse(first.ACTIVITY_LOG_KEYS).success).toBe(true);
      expect(
        activityLogFromConfig({
          ...first,
          ACTIVITY_CHECKPOINT_FILE: "f",
          ACTIVITY_CHECKPOINT_INTERVAL_SECONDS: 1,
        }).signingKey,
      ).toBeDefined();
    } finally {
      await rm(join(file, ".."), { recursive: true, force: true });
    }
  });
});
