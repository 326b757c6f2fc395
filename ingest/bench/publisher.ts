/**
 * Benchmark load generator, run as its own process so it does not share a
 * CPU core's event loop with the ingest under test. Publishes numbered
 * position messages (QoS 1) spread over devices and connections, keeping a
 * window of unacknowledged publishes per connection, and prints one JSON line
 * (messages sent, PUBACKed by the broker, failed, seconds, and `startedAt`: the
 * epoch ms of the first publish, once connected, so the benchmark's clock
 * leaves out this process's start-up) when all have settled.
 */
import { parseArgs } from "node:util";
import { uplinkTopic } from "@vakt/schemas";
import mqtt from "mqtt";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    username: { type: "string" },
    password: { type: "string" },
    serials: { type: "string" },
    messages: { type: "string" },
    fixes: { type: "string", default: "1" },
    connections: { type: "string", default: "8" },
    window: { type: "string", default: "500" },
    base: { type: "string" },
    tag: { type: "string", default: "m" },
  },
});
const serials = (values.serials ?? "").split(",");
const total = Number(values.messages);
const fixesPer = Number(values.fixes);
const connections = Number(values.connections);
const windowSize = Number(values.window);
const base = Number(values.base);
const tag = values.tag ?? "m";

const clients = await Promise.all(
  Array.from({ length: connections }, () =>
    mqtt.connectAsync(values.url ?? "", {
      username: values.username,
      password: values.password,
      protocolVersion: 5,
      reconnectPeriod: 0,
    }),
  ),
);

function body(n: number): string {
  const serialIndex = n % serials.length;
  // Per device, message k carries fixes k*fixesPer .. +fixesPer-1, one second apart.
  const k = Math.floor(n / serials.length);
  const fixes = Array.from({ length: fixesPer }, (_, i) => ({
    t: base + (k * fixesPer + i) * 1_000,
    lat: 59.9 + (serialIndex % 100) / 1_000,
    lon: 10.7 + i / 10_000,
    accM: 8,
    batteryPct: 80,
  }));
  return JSON.stringify(
    fixesPer === 1 ? { v: 1, id: `${tag}${n}`, fix: fixes[0] } : { v: 1, id: `${tag}${n}`, fixes },
  );
}

const started = performance.now();
const startedAt = Date.now();
let next = 0;
let sent = 0;
let acked = 0;
let failed = 0;
await Promise.all(
  clients.map(async (c) => {
    const inflight = new Set<Promise<unknown>>();
    for (;;) {
      const n = next++;
      if (n >= total) break;
      const serial = serials[n % serials.length] as string;
      sent++;
      const p = c
        .publishAsync(uplinkTopic(serial, "position"), body(n), { qos: 1 })
        .then(
          () => {
            acked++;
          },
          () => {
            failed++;
          },
        )
        .finally(() => inflight.delete(p));
      inflight.add(p);
      if (inflight.size >= windowSize) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  }),
);
const seconds = (performance.now() - started) / 1000;
await Promise.all(clients.map((c) => c.endAsync()));
// sent: publishes handed to the client; acked: PUBACKed by the broker.
process.stdout.write(`${JSON.stringify({ messages: total, sent, acked, failed, seconds, startedAt })}\n`);
