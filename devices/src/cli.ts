/** `npm run sim -w @vakt/devices -- --devices 5000 --tracking 60`: see `--help`. */
import { readFile, writeFile } from "node:fs/promises";
import pino from "pino";
import { z } from "zod";
import { type CliArgs, parseCli, usage } from "./cli-args";
import { type Clock, scaledClock, systemClock } from "./clock";
import { defaultCentres, generateDevices } from "./generate";
import { deviceList, type SimDevice, type SimOptionsInput } from "./options";
import { seededRandom } from "./random";
import { runScenario } from "./run-scenario";
import { loadScenario } from "./scenario";
import { createSimulator, type SimulatorStats } from "./simulator";

function optionsFrom(a: CliArgs, deviceCount: number): SimOptionsInput {
  const o: Record<string, unknown> = {
    sosPerHour: a["sos-per-hour"],
    fallPerHour: a["fall-per-hour"],
    fallCancelRate: a["fall-cancel-rate"],
    wanderPerHour: a["wander-per-hour"],
    geofenceRadiusM: a["geofence-m"],
    silencePerHour: a["silence-per-hour"],
    skewRate: a["skew-rate"],
    redeliveryRate: a["redelivery-rate"],
    malformedRate: a["malformed-rate"],
    malformedKinds: a["malformed-kinds"],
    heartbeatIntervalS: a.heartbeat,
    connectRatePerS: a["connect-rate"],
    protocolVersion: a.mqtt5 ? 5 : undefined,
  };
  if (a.tracking !== undefined) Object.assign(o, { tracking: true, reportIntervalS: a.tracking });
  if (a.rate !== undefined)
    Object.assign(o, { tracking: true, reportIntervalS: Math.max(1, deviceCount / a.rate) });
  // A faster clock: step the simulation once per real second or so, not once per simulated second.
  if (a.speed !== undefined && a.speed > 1) o.tickMs = 1000 * Math.min(a.speed, 60);
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as SimOptionsInput;
}

async function readDevices(path: string): Promise<SimDevice[]> {
  const result = deviceList.safeParse(JSON.parse(await readFile(path, "utf8")));
  if (!result.success) throw new Error(`invalid devices file ${path}:\n${z.prettifyError(result.error)}`);
  return result.data;
}

function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** Prints a progress line every `seconds` of real time; returns a function that stops it. */
function progress(stats: () => SimulatorStats, seconds: number): () => void {
  if (seconds <= 0) return () => {};
  let last = stats();
  let lastAt = performance.now();
  const handle = setInterval(() => {
    const now = stats();
    const at = performance.now();
    const dt = (at - lastAt) / 1000;
    const perS = (a: number, b: number) => ((a - b) / dt).toFixed(1);
    process.stderr.write(
      `[sim +${formatElapsed(now.elapsedMs)}] connected ${now.connected}/${now.devices}` +
        ` | sent ${now.sent.total} (${perS(now.sent.total, last.sent.total)}/s)` +
        ` | alarms ${now.alarms.sent} acked ${now.alarms.acked}` +
        ` | errors ${now.errors.total} (${perS(now.errors.total, last.errors.total)}/s)\n`,
    );
    last = now;
    lastAt = at;
  }, seconds * 1000);
  return () => clearInterval(handle);
}

function summary(stats: SimulatorStats, json: boolean) {
  if (json) {
    process.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
    return;
  }
  const lines = [
    `devices        ${stats.devices} (at most ${stats.connectedPeak} connected at once, reconnects ${stats.reconnects})`,
    `simulated      ${formatElapsed(stats.elapsedMs)}`,
    `sent           ${stats.sent.total} (position ${stats.sent.position}, status ${stats.sent.status}, alarm ${stats.sent.alarm}; redelivered ${stats.sent.redelivered}, malformed ${stats.sent.malformed}); broker confirmed ${stats.confirmed}`,
    `alarms         ${stats.alarms.sent} ${JSON.stringify(stats.alarms.byType)}, acknowledged ${stats.alarms.acked}` +
      (stats.acks.latencyP50Ms === undefined
        ? ""
        : ` (latency p50 ${stats.acks.latencyP50Ms} ms, max ${stats.acks.latencyMaxMs} ms)`),
    `downlink       config ${stats.downlink.config} (applied ${stats.configsApplied}), ack ${stats.downlink.ack} (unknown ${stats.acks.unknown}), command ${stats.downlink.command} ${JSON.stringify(stats.commands)}, invalid ${stats.downlink.invalid}`,
    `events         silences ${stats.silences}, power-offs ${stats.powerOffs}`,
    `errors         connection ${stats.errors.connection}, publish ${stats.errors.publish}`,
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCli(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const logger = pino({ name: "vakt-sim", level: args["log-level"] ?? "info" }, pino.destination(2));
  const seed = args.seed ?? Date.now() >>> 0;
  const random = seededRandom(seed);
  const clock: Clock = args.speed !== undefined && args.speed !== 1 ? scaledClock(args.speed) : systemClock;
  const mqttUrl = args.url ?? process.env.MQTT_URL ?? "mqtt://localhost:1883";

  const count =
    args.generate ?? (args.devices && /^\d+$/.test(args.devices) ? Number(args.devices) : undefined);
  let devices: SimDevice[] | undefined;
  if (count !== undefined) devices = generateDevices(count, args.centre ?? defaultCentres, seed);
  else if (args.devices !== undefined) devices = await readDevices(args.devices);
  if (devices && args["write-devices"]) {
    await writeFile(args["write-devices"], `${JSON.stringify(devices, null, 2)}\n`);
    logger.info({ file: args["write-devices"], devices: devices.length }, "devices file written");
    return 0;
  }
  logger.info({ mqttUrl, seed, devices: devices?.length, speed: args.speed ?? 1 }, "starting");

  if (args.scenario) {
    const scenario = await loadScenario(args.scenario);
    const stats = await runScenario({
      scenario,
      mqttUrl,
      logger,
      clock,
      random,
      options: optionsFrom(args, scenario.devices.length),
      ...(devices ? { devices } : {}),
    });
    summary(stats, args.json ?? false);
    return 0;
  }

  const list = devices ?? [];
  const simulator = createSimulator({
    mqttUrl,
    devices: list,
    options: optionsFrom(args, list.length),
    logger,
    clock,
    random,
    ...(args.duration !== undefined ? { durationMs: args.duration } : {}),
  });
  const stopProgress = progress(simulator.stats, args.progress ?? 5);
  const interrupted = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await Promise.race([simulator.start(), interrupted]);
  await Promise.race([simulator.finished(), interrupted]);
  stopProgress();
  const stats = await simulator.stop();
  summary(stats, args.json ?? false);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`vakt-sim: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
