/**
 * A fleet of simulated devices for bench/fleet.bench.ts, as its own process:
 * one MQTT connection per device, each with its own credentials and client id
 * (as on the device listener), connected at a bounded rate, each reporting a
 * position (QoS 1) every interval with a random phase; a share of them track
 * at a short interval. Prints a JSON line every second: connected, published,
 * acknowledged (PUBACKed) and failed, and this process's resident memory.
 *
 * Input: a file of `serial secret` lines (FLEET_CREDENTIALS), FLEET_URL,
 * FLEET_RAMP_PER_S, FLEET_INTERVAL_S, FLEET_TRACKING_SHARE,
 * FLEET_TRACKING_INTERVAL_S, FLEET_SECONDS (how long to report after the ramp),
 * FLEET_INDEX_OFFSET (this process's first device in the whole fleet: message ids
 * and the tracking share follow the device's place in the fleet).
 */
import { readFile, writeFile } from "node:fs/promises";
import { uplinkTopic } from "@vakt/schemas";
import mqtt, { type MqttClient } from "mqtt";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const url = process.env.FLEET_URL ?? "";
const rampPerS = env("FLEET_RAMP_PER_S", 250);
const intervalS = env("FLEET_INTERVAL_S", 60);
const trackingShare = env("FLEET_TRACKING_SHARE", 0.01);
const trackingIntervalS = env("FLEET_TRACKING_INTERVAL_S", 10);
const seconds = env("FLEET_SECONDS", 300);
/** Where this process's devices start in the whole fleet (the bench runs several processes). */
const offset = env("FLEET_INDEX_OFFSET", 0);

const devices = (await readFile(process.env.FLEET_CREDENTIALS ?? "", "utf8"))
  .split("\n")
  .filter(Boolean)
  .map((line) => {
    const [serial = "", secret = ""] = line.split(" ");
    return { serial, secret };
  });

/** Every acknowledged message as `serial id` (FLEET_ACK_LOG), so the bench can name one it did not find stored. */
const ackLog: string[] = [];
const counts = { connected: 0, published: 0, acked: 0, failed: 0, connectFailed: 0 };
const clients: MqttClient[] = [];
const timers: NodeJS.Timeout[] = [];
let running = true;

function report(phase: string) {
  process.stdout.write(
    `${JSON.stringify({ phase, ...counts, rssBytes: process.memoryUsage().rss, at: Date.now() })}\n`,
  );
}

function startReporting(client: MqttClient, serial: string, index: number, everyS: number) {
  let n = 0;
  const send = () => {
    if (!running) return;
    const t = Date.now();
    counts.published++;
    const fix = { t, lat: 59.9 + (index % 1000) / 10_000, lon: 10.7 + (n % 100) / 10_000, accM: 10 };
    const id = `f${index}-${n++}`;
    client.publish(uplinkTopic(serial, "position"), JSON.stringify({ v: 1, id, fix }), { qos: 1 }, (err) => {
      if (err) counts.failed++;
      else {
        counts.acked++;
        ackLog.push(`${serial} ${id}`);
      }
    });
  };
  // A random phase, so the fleet's reports spread over the interval as real devices' do.
  timers.push(
    setTimeout(
      () => {
        send();
        timers.push(setInterval(send, everyS * 1000));
      },
      Math.random() * everyS * 1000,
    ),
  );
}

const reporter = setInterval(() => report("run"), 1000);
const trackingEvery = Math.max(1, Math.round(1 / Math.max(trackingShare, 1e-9)));
for (const [local, d] of devices.entries()) {
  const i = offset + local;
  const client = mqtt.connect(url, {
    clientId: d.serial,
    username: d.serial,
    password: d.secret,
    protocolVersion: 4,
    keepalive: 60,
    reconnectPeriod: 5_000,
    connectTimeout: 30_000,
  });
  clients.push(client);
  let connectedOnce = false;
  client.on("connect", () => {
    if (connectedOnce) return;
    connectedOnce = true;
    counts.connected++;
    startReporting(client, d.serial, i, i % trackingEvery === 0 ? trackingIntervalS : intervalS);
  });
  client.on("error", () => {
    if (!connectedOnce) counts.connectFailed++;
  });
  if ((local + 1) % rampPerS === 0) await new Promise((r) => setTimeout(r, 1000));
}
report("ramped");
await new Promise((r) => setTimeout(r, seconds * 1000));
running = false;
for (const t of timers) clearTimeout(t);
// Let the last publishes be acknowledged.
await new Promise((r) => setTimeout(r, 3000));
clearInterval(reporter);
if (process.env.FLEET_ACK_LOG) await writeFile(process.env.FLEET_ACK_LOG, ackLog.join("\n"));
report("done");
await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
process.exit(0);
