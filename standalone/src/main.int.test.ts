/**
 * `npm start` as a person runs it: the process prints where the console, MQTT
 * and OsmAnd are and the demo login, moves off ports other programs hold, and
 * Ctrl-C (SIGINT to its process group) stops every part and exits 0.
 */
import { execFileSync, spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@vakt/storage/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const cwd = new URL("..", import.meta.url).pathname;
let db: TestDatabase;
let dataDir: string;
beforeAll(async () => {
  db = await createTestDatabase({ applyMigrations: false });
  dataDir = await mkdtemp(join(tmpdir(), "vakt-main-"));
  // As root the embedded PostgreSQL runs as the postgres user, which must reach its folder inside.
  await chmod(dataDir, 0o755);
});
afterAll(async () => {
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start (standalone/src/main.ts)", () => {
  it("refuses a bad setting with one line naming the variable", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd,
      env: { ...process.env, SIM_DEVICES: "many", DATABASE_URL: db.url },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^vakt: SIM_DEVICES: /)]);
  });

  it("moves off taken ports, prints every address, and stops with exit 0 on Ctrl-C to its group", async () => {
    // Other programs hold the configured ports (as a system Mosquitto holds 1883).
    const held = await Promise.all([holdPort(), holdPort(), holdPort()]);
    const [apiPort, mqttPort, osmandPort] = held.map((h) => h.port) as [number, number, number];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: dataDir,
      API_PORT: String(apiPort),
      MQTT_PORT: String(mqttPort),
      INGEST_HTTP_PORT: String(osmandPort),
      SIM_DEVICES: "2",
      LOG_LEVEL: "info",
    };
    // The embedded database, as for a person trying it out: it gets the same Ctrl-C.
    delete env.DATABASE_URL;
    delete env.MQTT_URL;
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd, env, detached: true });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => (out.includes("Ctrl-C stops everything") ? resolve() : setTimeout(check, 100));
        check();
        void exited.then(() => reject(new Error(`exited early: ${out}\n${err}`)));
      });
      const banner = (label: string) =>
        new RegExp(`${label}: (\\S+?):(\\d+)/?\\s+\\(port (\\d+) was taken\\)`).exec(out);
      const consoleLine = banner("Vakt is running");
      const mqttLine = banner("MQTT for devices");
      const osmandLine = banner("OsmAnd \\(Traccar Client\\)");
      expect(consoleLine?.slice(1)).toEqual(["http://localhost", expect.any(String), String(apiPort)]);
      expect(mqttLine?.slice(1)).toEqual(["mqtt://localhost", expect.any(String), String(mqttPort)]);
      expect(osmandLine?.slice(1)).toEqual(["http://localhost", expect.any(String), String(osmandPort)]);
      // This machine has Mosquitto installed: npm start runs it, and says so.
      expect(out).toContain("broker: Mosquitto from PATH, shipped configuration (MQTT 5 and 3.1.1)");
      const movedApi = Number(consoleLine?.[2]);
      const movedMqtt = Number(mqttLine?.[2]);
      const movedOsmand = Number(osmandLine?.[2]);
      expect(new Set([movedApi, movedMqtt, movedOsmand, apiPort, mqttPort, osmandPort]).size).toBe(6);

      // Each printed address answers.
      const password = /Password: (\S+)/.exec(out)?.[1];
      const email = /Demo administrator: (\S+)/.exec(out)?.[1];
      const login = await fetch(`http://127.0.0.1:${movedApi}/api/v1/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: `http://localhost:${movedApi}` },
        body: JSON.stringify({ email, password }),
      });
      expect(login.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${movedOsmand}/healthz`)).status).toBe(200);
      await new Promise<void>((resolve, reject) => {
        const socket = connect(movedMqtt, "127.0.0.1", () => {
          socket.end();
          resolve();
        });
        socket.once("error", reject);
      });
    } catch (e) {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
      throw e;
    } finally {
      await Promise.all(held.map((h) => h.close()));
    }

    // Ctrl-C in a terminal signals the whole foreground process group. The embedded PostgreSQL runs
    // in a group of its own, so the signal reaches npm start, which stops it last.
    const postgresPid = Number(
      (await readFile(join(dataDir, "postgres", "cluster", "postmaster.pid"), "utf8")).split("\n")[0],
    );
    const groupOf = (pid: number) =>
      Number(execFileSync("ps", ["-o", "pgid=", "-p", String(pid)], { encoding: "utf8" }).trim());
    expect(groupOf(postgresPid)).not.toBe(groupOf(child.pid as number));
    process.kill(-(child.pid as number), "SIGINT");
    const code = await exited;
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    expect(alive(postgresPid), "the embedded PostgreSQL outlived npm start").toBe(false);
    expect(code, `${out.slice(-4000)}\n${err}`).toBe(0);
    expect(err).not.toMatch(/\n\s+at |Unhandled|Error/);
    for (const part of ["simulator", "api", "ingest", "mqtt broker", "database pool", "embedded postgres"]) {
      expect(out).toMatch(new RegExp(`"part":"${part}".*"msg":"stopped"`));
    }
  });
});

async function holdPort(): Promise<{ port: number; close(): Promise<void> }> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "0.0.0.0", resolve));
  const address = srv.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  return { port: address.port, close: () => new Promise((r) => srv.close(() => r())) };
}
