/**
 * Background load for the alarm benchmark, run as its own process: publishes
 * RATE positions per second (FIXES fixes per message) round-robin over the
 * serials given in SERIALS, as a service account, until killed. Prints the
 * positions published so far every 100 ms. PROTOCOL: 4 (default) or 5.
 */
import mqtt from "mqtt";

const url = process.env.MQTT_URL as string;
const serials = (process.env.SERIALS as string).split(",");
const rate = Number(process.env.RATE ?? 5000);
const fixes = Number(process.env.FIXES ?? 5);
const client = await mqtt.connectAsync(url, {
  username: process.env.MQTT_USERNAME,
  password: process.env.MQTT_PASSWORD,
  protocolVersion: process.env.PROTOCOL === "5" ? 5 : 4,
  clientId: `bench-load-${process.pid}`,
});
const messagesPerTick = Math.max(1, Math.round(rate / fixes / 100));
let n = 0;
let sent = 0;
const started = Date.now();
/** Each device sends rate / fixes / serials messages a second: fixes that far apart keep up with real time. */
const spacingMs = Math.max(1, Math.floor((1000 * serials.length) / rate));
const base = started - 60_000;
setInterval(() => {
  // Catch up to the schedule (10 ms ticks).
  const due = Math.floor(((Date.now() - started) / 10) * messagesPerTick);
  while (sent < due) {
    const serial = serials[n % serials.length] as string;
    // Fix times unique per device (a repeated time would be stored once): message k of a device
    // carries fixes k*FIXES .. +FIXES-1, spaced so that a device's fixes keep pace with the clock.
    const k = Math.floor(n / serials.length);
    n++;
    const list = Array.from({ length: fixes }, (_, i) => ({
      t: base + (k * fixes + i) * spacingMs,
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
setInterval(() => process.stdout.write(`${sent * fixes}\n`), 100);
