/**
 * Background load for the alarm benchmark, run as its own process: publishes
 * RATE positions per second (FIXES fixes per message) round-robin over the
 * serials given in SERIALS, as a service account, until killed.
 */
import mqtt from "mqtt";

const url = process.env.MQTT_URL as string;
const serials = (process.env.SERIALS as string).split(",");
const rate = Number(process.env.RATE ?? 5000);
const fixes = Number(process.env.FIXES ?? 5);
const client = await mqtt.connectAsync(url, {
  username: process.env.MQTT_USERNAME,
  password: process.env.MQTT_PASSWORD,
  protocolVersion: 4,
  clientId: `bench-load-${process.pid}`,
});
const messagesPerTick = Math.max(1, Math.round(rate / fixes / 100));
let n = 0;
let sent = 0;
const started = Date.now();
setInterval(() => {
  // Catch up to the schedule (10 ms ticks).
  const due = Math.floor(((Date.now() - started) / 10) * messagesPerTick);
  while (sent < due) {
    const serial = serials[n++ % serials.length] as string;
    const t = Date.now() - fixes * 1000;
    const list = Array.from({ length: fixes }, (_, i) => ({
      t: t + i * 1000 + (n % 1000),
      lat: 59.9 + (n % 100) * 1e-4,
      lon: 10.7 + (n % 50) * 1e-4,
      accM: 10,
    }));
    client.publish(`vakt/v1/d/${serial}/up/position`, JSON.stringify({ v: 1, id: `l${n}`, fixes: list }), {
      qos: 1,
    });
    sent++;
  }
}, 10);
setInterval(() => process.stdout.write(`${sent * fixes}\n`), 1000);
