/**
 * `npm run bench:broker-cost -w @vakt/ingest`: Mosquitto's CPU per message delivered to one QoS 1
 * subscriber, for a plain subscriber and for subscribers that each take one of ingest's session
 * settings (persistent session, `$share/...`, the extra subscriptions, PUBACKs held until a lane's
 * "commit" and written as lanes finish, a large receive-maximum, a slow subscriber). Nothing of
 * ingest but its settings: the messages are counted and acknowledged, never stored, so what moves
 * is the broker's own work. Issue #20 item 2: which setting costs the broker. Prints figures;
 * asserts nothing.
 *
 * Environment: BENCH_MESSAGES (default 50,000 a variant), BENCH_DEVICES (1,000), BENCH_RUNS (2,
 * alternating variants), BENCH_VARIANTS (comma-separated names; default all), BENCH_COMMIT_MS
 * (how long a lane's emulated commit takes, default 30).
 */
import { readFileSync } from "node:fs";
import { ingestSubscription, uplinkTopic } from "@vakt/schemas";
import mqtt, { type IPublishPacket } from "mqtt";
import { BROKER_LOG_TOPIC } from "../src/broker/presence";
import { OWNTRACKS_SUBSCRIPTIONS } from "../src/trackers/owntracks";
import { runPublisher, startBenchLab } from "./lab";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 50_000);
const DEVICES = Number(process.env.BENCH_DEVICES ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const COMMIT_MS = Number(process.env.BENCH_COMMIT_MS ?? 30);
const CLK_TCK = 100;

interface Variant {
  name: string;
  clean: boolean;
  shared: boolean;
  extraSubscriptions: boolean;
  /** immediate: mqtt.js acks at once; lanes: held per lane until its emulated commit, written as each lane finishes; ordered: the same lanes, acks written in arrival order. */
  acks: "immediate" | "lanes" | "ordered";
  receiveMaximum: number;
  /** Busy-wait per message (a slower subscriber: more messages wait in the broker per read). */
  busyUs: number;
  /** How long a lane's emulated commit takes (default BENCH_COMMIT_MS). */
  commitMs?: number;
}

const plain: Variant = {
  name: "plain",
  clean: true,
  shared: false,
  extraSubscriptions: false,
  acks: "immediate",
  receiveMaximum: 10_000,
  busyUs: 0,
};
const ingestLike: Variant = {
  name: "ingest-like",
  clean: false,
  shared: true,
  extraSubscriptions: true,
  acks: "lanes",
  receiveMaximum: 16_000,
  busyUs: 0,
};
const all: Variant[] = [
  plain,
  { ...plain, name: "persistent", clean: false },
  { ...plain, name: "shared", shared: true },
  { ...plain, name: "extra-subs", extraSubscriptions: true },
  { ...plain, name: "rm-16000", receiveMaximum: 16_000 },
  { ...plain, name: "lane-acks", acks: "lanes", receiveMaximum: 16_000 },
  { ...plain, name: "ordered-acks", acks: "ordered", receiveMaximum: 16_000 },
  { ...plain, name: "slow-20us", busyUs: 20 },
  ingestLike,
  { ...ingestLike, name: "ingest-like-ordered", acks: "ordered" },
  // As slow as ingest in the lab (about 5,000 messages/s): the publishers run ahead and a backlog queues.
  { ...plain, name: "slow-plain", busyUs: 150 },
  { ...ingestLike, name: "slow-ingest-like", commitMs: 1_600 },
  { ...ingestLike, name: "slow-ingest-ordered", acks: "ordered", commitMs: 1_600 },
];
const variants = all.filter(
  (v) => !process.env.BENCH_VARIANTS || process.env.BENCH_VARIANTS.split(",").includes(v.name),
);

function ticksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

const DEFERRED = new Error("puback deferred");
const LANES = 4;
const BATCH = 2_000;

/** Runs one variant: connects its subscriber, publishes MESSAGES, waits until all are acknowledged. */
async function runVariant(
  lab: Awaited<ReturnType<typeof startBenchLab>>,
  v: Variant,
  serials: string[],
  tag: string,
) {
  const clientId = `cost-${v.name}-${tag}`;
  const sub = await mqtt.connectAsync(lab.broker.url, {
    ...lab.service,
    protocolVersion: 5,
    clientId,
    clean: v.clean,
    reconnectPeriod: 0,
    log: () => {},
    properties: { receiveMaximum: v.receiveMaximum, ...(v.clean ? {} : { sessionExpiryInterval: 3600 }) },
  });
  let received = 0;
  let acked = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const writeAcks = (ids: number[]) => {
    const buf = Buffer.allocUnsafe(ids.length * 4);
    ids.forEach((id, i) => {
      buf[i * 4] = 0x40;
      buf[i * 4 + 1] = 2;
      buf.writeUInt16BE(id, i * 4 + 2);
    });
    sub.stream.write(buf);
    acked += ids.length;
    if (acked >= MESSAGES) done();
  };
  // Arrival order, for "ordered": an id is written once it and everything before it has committed.
  const order: { id: number; committed: boolean }[] = [];
  let head = 0;
  const lanes = Array.from({ length: LANES }, () => ({
    pending: [] as { id: number; committed: boolean }[],
    busy: false,
    timer: undefined as NodeJS.Timeout | undefined,
  }));
  const flush = (lane: (typeof lanes)[number]) => {
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = undefined;
    if (lane.busy || lane.pending.length === 0) return;
    const batch = lane.pending.splice(0, BATCH);
    lane.busy = true;
    setTimeout(() => {
      lane.busy = false;
      if (v.acks === "lanes") writeAcks(batch.map((m) => m.id));
      else {
        for (const m of batch) m.committed = true;
        const ids: number[] = [];
        while (head < order.length && (order[head] as { committed: boolean }).committed) {
          ids.push((order[head] as { id: number }).id);
          head++;
        }
        if (ids.length > 0) writeAcks(ids);
      }
      if (lane.pending.length > 0) flush(lane);
    }, v.commitMs ?? COMMIT_MS);
  };
  const laneOf = (topic: string) => {
    let h = 0;
    for (let i = 0; i < topic.length; i++) h = (h * 31 + topic.charCodeAt(i)) | 0;
    return (h >>> 0) % LANES;
  };
  if (v.acks !== "immediate") {
    sub.handleMessage = (packet: IPublishPacket, callback) => {
      received++;
      const m = { id: packet.messageId as number, committed: false };
      if (v.acks === "ordered") order.push(m);
      const lane = lanes[laneOf(packet.topic)] as (typeof lanes)[number];
      lane.pending.push(m);
      if (lane.pending.length >= BATCH) flush(lane);
      else if (!lane.timer && !lane.busy) lane.timer = setTimeout(() => flush(lane), 25);
      callback(DEFERRED);
    };
  } else {
    sub.on("message", () => {
      if (v.busyUs > 0) {
        const until = performance.now() + v.busyUs / 1000;
        while (performance.now() < until);
      }
      if (++received === MESSAGES) {
        acked = received;
        // mqtt.js writes its PUBACK after this handler: let it go out first.
        setImmediate(done);
      }
    });
  }
  const filter = uplinkTopic("+", "position");
  const subs = [v.shared ? ingestSubscription("cost") : filter];
  if (v.extraSubscriptions) {
    for (const f of OWNTRACKS_SUBSCRIPTIONS) subs.push(v.shared ? `$share/cost/${f}` : f);
    subs.push(BROKER_LOG_TOPIC);
  }
  await sub.subscribeAsync(Object.fromEntries(subs.map((s) => [s, { qos: 1 as const }])));
  const pid = lab.broker.process.pid as number;
  const cpu0 = process.cpuUsage();
  const published = runPublisher(lab, {
    serials,
    messages: MESSAGES,
    fixes: 1,
    base: Date.now() - 86_400_000,
    tag,
  });
  // The broker's ticks from the publisher's first publish (its start-up is not the broker's).
  let t0 = ticksOf(pid);
  const sent = await published;
  void sent;
  await all;
  const t1 = ticksOf(pid);
  const own = process.cpuUsage(cpu0);
  await sub.endAsync();
  if (!v.clean) {
    // Drop the session: a persistent one left behind would take its share of the next variant's messages.
    const gone = await mqtt.connectAsync(lab.broker.url, {
      ...lab.service,
      protocolVersion: 5,
      clientId,
      clean: true,
      reconnectPeriod: 0,
    });
    await gone.endAsync();
  }
  t0 = Math.min(t0, t1);
  return {
    brokerUs: (((t1 - t0) / CLK_TCK) * 1e6) / MESSAGES,
    subscriberUs: (own.user + own.system) / MESSAGES,
    seconds: (Date.now() - sent.startedAt) / 1000,
  };
}

const lab = await startBenchLab();
try {
  const serials = Array.from({ length: DEVICES }, (_, i) => `cost-${i}`);
  console.log(
    `Mosquitto CPU per message to one subscriber, ${MESSAGES.toLocaleString("en-US")} messages a run, ${RUNS} runs, lane commit ${COMMIT_MS} ms:`,
  );
  const results = new Map<string, { brokerUs: number; subscriberUs: number; seconds: number }[]>();
  for (let run = 0; run < RUNS; run++) {
    for (const v of variants) {
      const r = await runVariant(lab, v, serials, `r${run}`);
      results.set(v.name, [...(results.get(v.name) ?? []), r]);
    }
  }
  const base = results.get("plain")?.map((r) => r.brokerUs);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const v of variants) {
    const rs = results.get(v.name) ?? [];
    const b = rs.map((r) => r.brokerUs);
    console.log(
      `  ${v.name.padEnd(20)} broker ${b
        .map((x) => x.toFixed(1))
        .join(" / ")
        .padStart(12)} µs` +
        `${base ? ` (${(mean(b) / mean(base)).toFixed(2)} × plain)` : ""}, subscriber ${rs
          .map((r) => r.subscriberUs.toFixed(1))
          .join(" / ")} µs, ${rs.map((r) => r.seconds.toFixed(1)).join(" / ")} s`,
    );
  }
} finally {
  await lab.stop();
}
process.exit(0);
