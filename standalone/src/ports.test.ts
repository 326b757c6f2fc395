import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { choosePort, portFree } from "./ports";

const held: Server[] = [];
async function hold(host = "0.0.0.0"): Promise<number> {
  const srv = createServer();
  held.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, host, resolve));
  const address = srv.address();
  if (typeof address !== "object" || !address) throw new Error("no address");
  return address.port;
}
afterEach(async () => {
  await Promise.all(held.splice(0).map((s) => new Promise((r) => s.close(r))));
});

describe("choosing listen ports for npm start", () => {
  it("keeps a free configured port", async () => {
    const port = await hold();
    await new Promise((r) => held.pop()?.close(r));
    expect(await portFree(port, "0.0.0.0")).toBe(true);
    expect(await choosePort(port, "0.0.0.0")).toEqual({ port });
  });

  it("moves off a taken port and says which one was wanted", async () => {
    const port = await hold();
    expect(await portFree(port, "0.0.0.0")).toBe(false);
    const chosen = await choosePort(port, "0.0.0.0");
    expect(chosen.wanted).toBe(port);
    expect(chosen.port).not.toBe(port);
    expect(await portFree(chosen.port, "0.0.0.0")).toBe(true);
  });

  it("treats a port taken on the loopback address as taken for 0.0.0.0", async () => {
    const port = await hold("127.0.0.1");
    expect((await choosePort(port, "0.0.0.0")).port).not.toBe(port);
  });

  it("never hands the same port to two listeners of the process", async () => {
    const port = await hold();
    const first = await choosePort(port, "0.0.0.0");
    const second = await choosePort(port, "0.0.0.0", new Set([first.port]));
    expect(second.port).not.toBe(first.port);
    expect(second.port).not.toBe(port);
  });

  it("falls back to a system-assigned port when the ports above are taken too", async () => {
    const port = await hold();
    const chosen = await choosePort(port, "0.0.0.0", new Set(), 1);
    expect(chosen).toEqual({ port: expect.any(Number), wanted: port });
    expect(chosen.port).not.toBe(port);
  });
});
