#!/usr/bin/env node
/**
 * `npm run bench`: the whole load lab in one go. Runs each tier's benchmark as
 * a child process, one after another, with BENCH_RESULTS_FILE set so each
 * appends one JSON record of its figures, and samples /proc for every process
 * in the child's tree (the bench process itself, which hosts ingest or the
 * api; publisher processes; Mosquitto; the embedded PostgreSQL's backends) to
 * attribute CPU and memory to each role and to each phase the bench reports.
 * Writes bench-results/latest.json and bench-results/latest.md.
 *
 * Every figure is paired with a reference measured in the same run on the
 * same machine (bare broker, raw COPY, bare Hono route, bare MQTT round trip),
 * so the ratio means something where the absolute figure moves with the
 * machine's other load.
 *
 * The alarm-to-console step runs api/bench/alarm.bench.ts and reads its
 * record `{ bench: "alarm", broker, floorIdleMs, alarmIdleMs, startIdleMs, commitIdleMs,
 * fanOutIdleMs, floorLoadMs, alarmLoadMs, startLoadMs, commitLoadMs, fanOutLoadMs, busyLoops,
 * floorBusyMs, alarmBusyMs, startBusyMs, commitBusyMs, fanOutBusyMs, busyLoadPositionsPerS, and the
 * same with the suffix BusyShared / busySharedLoadPositionsPerS for loops inside the bench's session,
 * loadPositionsPerS }` (each *Ms an object `{ n, p50, p95, p99 }`; start* is publish -> ingest's
 * alarm statement begins, commit* publish -> the commit's NOTIFY, fanOut* NOTIFY -> socket.io); without one (a
 * bench that failed), the table says so.
 *
 * Environment: BENCH_MESSAGES (ingest, default 150000 here), BENCH_SECONDS
 * (api, default 6 here), BENCH_ALARMS (alarm, per phase, default 300 here), BENCH_ONLY (comma-separated step names), plus each
 * bench's own variables, which are passed through.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { cpuPerPositionAgainstFloor, fleetCpuPerPosition } from "./cpu-floor.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = join(root, "bench-results");
const resultsFile = join(outDir, "records.jsonl");
const CLK_TCK = 100;
const PAGE = 4096;
const SAMPLE_MS = 250;
/**
 * Memory is read every this many samples (2 s): smaps_rollup walks a process's page tables under its
 * memory-map lock, and read from every process of the tree four times a second it stalled them (the
 * alarm step's busy-loop p99 in the whole lab 131-142 ms, 50 ms with nobody reading).
 */
const MEMORY_EVERY = 8;

const steps = [
  {
    name: "ingest",
    cwd: "ingest",
    file: "bench/ingest.bench.ts",
    // 150,000: the 1-fix phase lasts about 8 s, so the 250 ms CPU sampling at its edges moves its
    // figures by a few per cent, not the tenth it did over 3 s.
    env: { BENCH_MESSAGES: process.env.BENCH_MESSAGES ?? "150000" },
  },
  {
    name: "api",
    cwd: "api",
    file: "bench/api.bench.ts",
    env: { BENCH_SECONDS: process.env.BENCH_SECONDS ?? "6" },
  },
  // 300 alarms a phase: a p99 of 100 is the second-worst alarm, too close to the maximum to compare runs by.
  {
    name: "alarm",
    cwd: "api",
    file: "bench/alarm.bench.ts",
    env: { BENCH_ALARMS: process.env.BENCH_ALARMS ?? "300" },
  },
  // 10,000 devices on their own connections for 5 minutes (FLEET_* variables; see the file).
  { name: "fleet", cwd: "ingest", file: "bench/fleet.bench.ts", env: {} },
];

/** Which part of the system a process is, from its command line. */
function roleOf(cmdline, benchFile) {
  if (/mosquitto/.test(cmdline)) return "mosquitto";
  if (/postgres/.test(cmdline.split(" ")[0] ?? "") || /^postgres:/.test(cmdline)) return "postgres";
  if (/publisher\.ts/.test(cmdline)) return "publisher";
  if (/fleet-devices\.ts/.test(cmdline)) return "device simulator";
  if (/ingest\/src\/main\.ts/.test(cmdline)) return "ingest";
  if (/esbuild/.test(cmdline)) return "esbuild (tsx)";
  if (cmdline.includes(benchFile)) return "bench process";
  return "other";
}

async function readProc(pid) {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name is in parentheses and may hold spaces; fields follow the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = Number(rest[1]);
    const ticks = Number(rest[11]) + Number(rest[12]);
    const rssPages = Number(rest[21]);
    return { pid, ppid, ticks, rssBytes: rssPages * PAGE };
  } catch {
    return undefined;
  }
}

/** Proportional set size (shared pages divided among their users), so PostgreSQL's shared buffers count once. */
async function pss(pid) {
  try {
    const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8");
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the process tree under `rootPid` until stopped. */
function sampler(rootPid, benchFile) {
  const procs = new Map(); // pid -> { role, samples: [t, ticks][], peakBytes }
  const memory = []; // [t, role -> bytes]
  let stopped = false;
  const cmdlines = new Map();
  let round = 0;
  const loop = (async () => {
    while (!stopped) {
      const t = Date.now();
      const readMemory = round++ % MEMORY_EVERY === 0;
      const all = (await readdir("/proc")).filter((d) => /^\d+$/.test(d)).map(Number);
      const stats = (await Promise.all(all.map(readProc))).filter(Boolean);
      const children = new Map();
      for (const s of stats) {
        if (!children.has(s.ppid)) children.set(s.ppid, []);
        children.get(s.ppid).push(s);
      }
      const tree = [];
      const walk = (pid) => {
        for (const c of children.get(pid) ?? []) {
          tree.push(c);
          walk(c.pid);
        }
      };
      const self = stats.find((s) => s.pid === rootPid);
      if (self) tree.push(self);
      walk(rootPid);
      const byRole = {};
      for (const s of tree) {
        if (!cmdlines.has(s.pid)) {
          const cmd = await readFile(`/proc/${s.pid}/cmdline`, "utf8").catch(() => "");
          cmdlines.set(s.pid, cmd.replaceAll("\0", " ").trim());
        }
        const role = roleOf(cmdlines.get(s.pid), benchFile);
        let p = procs.get(s.pid);
        if (!p) {
          p = { role, samples: [], peakBytes: 0 };
          procs.set(s.pid, p);
        }
        p.samples.push([t, s.ticks]);
        if (!readMemory) continue;
        const bytes = (await pss(s.pid)) ?? s.rssBytes;
        p.peakBytes = Math.max(p.peakBytes, bytes);
        byRole[role] = (byRole[role] ?? 0) + bytes;
      }
      if (readMemory) memory.push([t, byRole]);
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
    },
    /** CPU seconds per role between two epoch-ms instants (a process first seen inside counts from zero). */
    cpuBetween(start, end) {
      const out = {};
      for (const p of procs.values()) {
        const at = (t) => {
          let v;
          for (const [ts, ticks] of p.samples) if (ts <= t) v = ticks;
          return v;
        };
        const a = at(start) ?? 0;
        const b = at(end) ?? p.samples.at(-1)?.[1] ?? 0;
        if (p.samples[0][0] > end) continue;
        out[p.role] = (out[p.role] ?? 0) + Math.max(0, b - a) / CLK_TCK;
      }
      return out;
    },
    /** Whole-run CPU seconds and peak memory (sum over the role's processes at one instant) per role. */
    totals() {
      const out = {};
      for (const p of procs.values()) {
        out[p.role] ??= { processes: 0, cpuSeconds: 0, peakMiB: 0 };
        const r = out[p.role];
        r.processes++;
        r.cpuSeconds += (p.samples.at(-1)[1] - 0) / CLK_TCK;
      }
      for (const [, byRole] of memory) {
        for (const [role, bytes] of Object.entries(byRole)) {
          if (out[role]) out[role].peakMiB = Math.max(out[role].peakMiB, bytes / 2 ** 20);
        }
      }
      return out;
    },
  };
}

/**
 * Writes back what earlier steps left dirty in the page cache before the next step starts, so no
 * step's commits (each waits for its WAL on disk) wait behind an earlier step's writeback.
 */
async function settleDisk() {
  const started = Date.now();
  const code = await new Promise((resolve) =>
    spawn("sync", [], { stdio: "ignore" })
      .once("exit", (c) => resolve(c))
      .once("error", () => resolve(-1)),
  );
  if (code !== 0) console.log("(sync did not run; the next step may meet earlier steps' writeback)");
  else if (Date.now() - started > 1_000)
    console.log(`(sync before the next step: ${Date.now() - started} ms)`);
}

async function run(step) {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", step.file], {
    cwd: join(root, step.cwd),
    env: { ...process.env, ...step.env, BENCH_RESULTS_FILE: resultsFile },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const s = sampler(child.pid, step.file);
  const code = await new Promise((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
  await s.stop();
  return { step: step.name, exitCode: code, seconds: (Date.now() - started) / 1000, sampler: s };
}

const only = process.env.BENCH_ONLY?.split(",");
await mkdir(outDir, { recursive: true });
await rm(resultsFile, { force: true });
const labStarted = Date.now();
const runs = [];
for (const step of steps) {
  if (only && !only.includes(step.name)) continue;
  if (!existsSync(join(root, step.cwd, step.file))) {
    console.log(`\n== ${step.name}: ${step.cwd}/${step.file} not present, skipped`);
    runs.push({ step: step.name, skipped: true });
    continue;
  }
  await settleDisk();
  console.log(`\n== ${step.name}: ${step.cwd}/${step.file}`);
  runs.push(await run(step));
}

// The hostile-input lab (ingest/src/hostile-lab.int.test.ts) runs as a vitest file; its summaries come back as JSON lines.
const labFile = join(outDir, "hostile-lab.jsonl");
let hostileLab = [];
if (!only || only.includes("hostile-lab")) {
  console.log("\n== hostile-lab: ingest/src/hostile-lab.int.test.ts");
  await rm(labFile, { force: true });
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [join(root, "node_modules/vitest/vitest.mjs"), "run", "src/hostile-lab.int.test.ts"],
    {
      cwd: join(root, "ingest"),
      env: { ...process.env, LAB_RESULTS_FILE: labFile },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  const exitCode = await new Promise((resolve) => child.once("exit", (c) => resolve(c ?? 1)));
  runs.push({ step: "hostile-lab", exitCode, seconds: (Date.now() - started) / 1000 });
  if (existsSync(labFile)) {
    hostileLab = (await readFile(labFile, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    await rm(labFile, { force: true });
  }
}

const records = existsSync(resultsFile)
  ? (await readFile(resultsFile, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l))
  : [];
await rm(resultsFile, { force: true });
const record = (name) => records.find((r) => r.bench === name);

const processes = {};
const phases = {};
for (const r of runs) {
  if (!r.sampler) continue;
  processes[r.step] = r.sampler.totals();
  for (const p of record(r.step)?.phases ?? []) {
    const cpu = r.sampler.cpuBetween(p.start, p.end);
    const wall = (p.end - p.start) / 1000;
    phases[`${r.step}.${p.name}`] = {
      seconds: wall,
      cores: Object.fromEntries(Object.entries(cpu).map(([role, s]) => [role, s / wall])),
    };
  }
}

const ingest = record("ingest");
const api = record("api");
const alarm = record("alarm");
const fleet = record("fleet");
const ratio = (a, b) => (a !== undefined && b ? a / b : undefined);
const perCore = (rate, phase, role) => {
  const c = phases[phase]?.cores?.[role];
  return rate !== undefined && c ? rate / c : undefined;
};
const derived = {
  ingest1FixToBareBroker: ratio(ingest?.ingest1FixPositionsPerS, ingest?.bareBrokerMsgPerS),
  ingest1FixToRawCopy: ratio(ingest?.ingest1FixPositionsPerS, ingest?.rawCopyRowsPerS),
  ingest10FixToRawCopy: ratio(ingest?.ingest10FixPositionsPerS, ingest?.rawCopyRowsPerS),
  apiToBareRoute: ratio(api?.currentPositions?.perSecond, api?.bare?.perSecond),
  apiToBarePositions: ratio(api?.currentPositions?.perSecond, api?.barePositions?.perSecond),
  alarmToBareRoundTripP50: ratio(alarm?.alarmIdleMs?.p50, alarm?.floorIdleMs?.p50),
  // Per-core figures for the capacity model (README): throughput divided by the cores each role used.
  positionsPerIngestCore1Fix: perCore(ingest?.ingest1FixPositionsPerS, "ingest.ingest_1fix", "bench process"),
  positionsPerPostgresCore1Fix: perCore(ingest?.ingest1FixPositionsPerS, "ingest.ingest_1fix", "postgres"),
  positionsPerIngestCore10Fix: perCore(
    ingest?.ingest10FixPositionsPerS,
    "ingest.ingest_10fix",
    "bench process",
  ),
  positionsPerPostgresCore10Fix: perCore(ingest?.ingest10FixPositionsPerS, "ingest.ingest_10fix", "postgres"),
  messagesPerBrokerCore1Fix: perCore(ingest?.ingest1FixPositionsPerS, "ingest.ingest_1fix", "mosquitto"),
  apiRequestsPerApiCore: perCore(api?.currentPositions?.perSecond, "api.current_positions", "bench process"),
  // CPU per stored position, one fix a message, per role against the floor (cpu-floor.mjs).
  cpuPerPosition1Fix: ingest ? cpuPerPositionAgainstFloor(phases, ingest) : undefined,
  // The same at fleet scale: small batches, so per-batch costs dominate (cpu-floor.mjs).
  fleetCpuPerPosition: fleet ? fleetCpuPerPosition(phases, fleet) : undefined,
};

const result = {
  date: new Date().toISOString(),
  hostileLab,
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  labSeconds: (Date.now() - labStarted) / 1000,
  runs: runs.map(({ sampler: _, ...r }) => r),
  records,
  derived,
  phases,
  processes,
};
await writeFile(join(outDir, "latest.json"), `${JSON.stringify(result, null, 2)}\n`);

// Markdown.
const n0 = (v) => (v === undefined || Number.isNaN(v) ? "–" : Math.round(v).toLocaleString("en-US"));
const n1 = (v) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(1));
const n2 = (v) => (v === undefined || Number.isNaN(v) ? "–" : v.toFixed(2));
const pcts = (p) => (p ? `p50 ${n1(p.p50)} / p95 ${n1(p.p95)} / p99 ${n1(p.p99)} ms` : "–");
const rows = [];
const row = (figure, measured, reference, r) =>
  rows.push(`| ${figure} | ${measured} | ${reference} | ${r} |`);
if (ingest) {
  row(
    "ingest, 1 fix/message",
    `${n0(ingest.ingest1FixPositionsPerS)} positions/s`,
    `bare broker ${n0(ingest.bareBrokerMsgPerS)} msg/s; raw COPY ${n0(ingest.rawCopyRowsPerS)} rows/s`,
    `${n2(derived.ingest1FixToBareBroker)} of bare; ${n2(derived.ingest1FixToRawCopy)} of COPY`,
  );
  row(
    "ingest, 10 fixes/message",
    `${n0(ingest.ingest10FixPositionsPerS)} positions/s`,
    `raw COPY ${n0(ingest.rawCopyRowsPerS)} rows/s`,
    `${n2(derived.ingest10FixToRawCopy)} of COPY`,
  );
  row("alarm publish → commit, idle", pcts(ingest.alarmCommitIdleMs), "–", "–");
  row("alarm publish → commit, during 1-fix load", pcts(ingest.alarmCommitUnderLoadMs), "–", "–");
  const l = ingest.loss;
  row(
    "loss: messages sent / PUBACKed; positions stored",
    `${n0(l.sent)} / ${n0(l.acked)}; ${n0(l.stored)}`,
    `expected ${n0(l.expected)} (PUBACKed × fixes)`,
    `lost ${n0(l.lost)}; dead letters ${n0(ingest.deadLetters)}`,
  );
}
if (alarm) {
  const via = alarm.broker === "mosquitto" ? "Mosquitto" : "aedes";
  const split = (commit, fanOut, start) =>
    commit && fanOut
      ? ` (${start ? `publish → statement begins p50 ${n1(start.p50)} / p99 ${n1(start.p99)}; ` : ""}publish → commit p50 ${n1(commit.p50)} / p99 ${n1(commit.p99)}; NOTIFY → socket.io p50 ${n1(fanOut.p50)} / p99 ${n1(fanOut.p99)})`
      : "";
  row(
    `alarm publish → console (socket.io), idle, ${via}`,
    `${pcts(alarm.alarmIdleMs)}${split(alarm.commitIdleMs, alarm.fanOutIdleMs, alarm.startIdleMs)}`,
    `bare MQTT round trip ${pcts(alarm.floorIdleMs)}`,
    `${n1(derived.alarmToBareRoundTripP50)}× at p50`,
  );
  row(
    `alarm publish → console, ${n0(alarm.loadPositionsPerS)} positions/s load, ${via}`,
    `${pcts(alarm.alarmLoadMs)}${split(alarm.commitLoadMs, alarm.fanOutLoadMs, alarm.startLoadMs)}`,
    `bare MQTT round trip ${pcts(alarm.floorLoadMs)}`,
    `${n1(ratio(alarm.alarmLoadMs?.p50, alarm.floorLoadMs?.p50))}× at p50`,
  );
  if (alarm.alarmBusyMs)
    row(
      `alarm publish → console, ${n0(alarm.busyLoadPositionsPerS)} positions/s load + ${alarm.busyLoops} busy loops, each a program of its own (own session), ${via}`,
      `${pcts(alarm.alarmBusyMs)}${split(alarm.commitBusyMs, alarm.fanOutBusyMs, alarm.startBusyMs)}`,
      `the same load without the busy loops ${pcts(alarm.alarmLoadMs)}; bare MQTT round trip ${pcts(alarm.floorBusyMs)}`,
      `${n1(ratio(alarm.alarmBusyMs?.p99, alarm.alarmLoadMs?.p99))}× at p99`,
    );
  if (alarm.alarmBusySharedMs)
    row(
      `alarm publish → console, ${n0(alarm.busySharedLoadPositionsPerS)} positions/s load + ${alarm.busyLoops} busy loops inside the lab's own session, ${via}`,
      `${pcts(alarm.alarmBusySharedMs)}${split(alarm.commitBusySharedMs, alarm.fanOutBusySharedMs, alarm.startBusySharedMs)}`,
      `the same load without the busy loops ${pcts(alarm.alarmLoadMs)}; bare MQTT round trip ${pcts(alarm.floorBusySharedMs)}`,
      `${n1(ratio(alarm.alarmBusySharedMs?.p99, alarm.alarmLoadMs?.p99))}× at p99`,
    );
} else {
  row(
    "alarm publish → console (socket.io)",
    "not recorded: api/bench/alarm.bench.ts wrote no `alarm` record (see the log)",
    "bare MQTT round trip",
    "–",
  );
}
if (api) {
  row(
    `API current positions (${n0(api.recipients)} recipients, ${api.concurrency} clients)`,
    `${n0(api.currentPositions.perSecond)} req/s, ${pcts(api.currentPositions)}`,
    `bare Hono route ${n0(api.bare.perSecond)} req/s, ${pcts(api.bare)}`,
    `${n2(derived.apiToBareRoute)} of bare`,
  );
  if (api.barePositions)
    row(
      "API current positions: full path (session, policy, activity log) against the same SQL bare through pg, rows to JSON",
      `${n0(api.currentPositions.perSecond)} req/s, p99 ${n1(api.currentPositions.p99)} ms at ${api.concurrency} clients`,
      `bare SQL route ${n0(api.barePositions.perSecond)} req/s, ${pcts(api.barePositions)}`,
      `${n2(derived.apiToBarePositions)} of bare SQL`,
    );
  if (api.history)
    row(
      `API one recipient's 24-hour history, 10 s (${n0(api.history.points)} points, ${api.concurrency} clients)`,
      `${n0(api.history.perSecond)} req/s, ${pcts(api.history)}`,
      "–",
      "–",
    );
}
const cpuRows = [];
for (const [phase, p] of Object.entries(phases)) {
  const roles = Object.entries(p.cores)
    .filter(([, c]) => c >= 0.01)
    .map(([role, c]) => `${role} ${c.toFixed(2)}`)
    .join(", ");
  cpuRows.push(`| ${phase} | ${p.seconds.toFixed(1)} s | ${roles} |`);
}
const procRows = [];
for (const [step, roles] of Object.entries(processes)) {
  for (const [role, r] of Object.entries(roles)) {
    procRows.push(
      `| ${step} | ${role} | ${r.processes} | ${r.cpuSeconds.toFixed(1)} | ${r.peakMiB.toFixed(0)} |`,
    );
  }
}
const perCoreRows = [
  ["positions/s per ingest core, 1 fix/message", derived.positionsPerIngestCore1Fix],
  ["positions/s per PostgreSQL core, 1 fix/message", derived.positionsPerPostgresCore1Fix],
  ["messages/s per Mosquitto core, 1 fix/message", derived.messagesPerBrokerCore1Fix],
  ["positions/s per ingest core, 10 fixes/message", derived.positionsPerIngestCore10Fix],
  ["positions/s per PostgreSQL core, 10 fixes/message", derived.positionsPerPostgresCore10Fix],
  ["current-positions requests/s per API core", derived.apiRequestsPerApiCore],
].map(([k, v]) => `| ${k} | ${n0(v)} |`);

const floorRows = (derived.cpuPerPosition1Fix ?? []).map(
  (r) => `| ${r.role} | ${n1(r.measuredUs)} µs | ${n1(r.floorUs)} µs | ${n2(r.ratio)} |`,
);

// What PostgreSQL wrote per stored position in each ingest phase (ingest/bench/ingest.bench.ts).
const phaseLabels = {
  raw_copy: "raw COPY (the floor)",
  ingest_1fix: "ingest, 1 fix/message",
  ingest_10fix: "ingest, 10 fixes/message",
};
const writeRows = Object.entries(ingest?.writesPerPosition ?? {})
  .filter(([phase]) => phase in phaseLabels)
  .map(
    ([phase, w]) =>
      `| ${phaseLabels[phase]} | ${n0(w.walBytes)} B | ${n2(w.walRecords)} | ${w.pagesWritten == null ? "–" : `${n0(w.pagesWritten * 8192)} B`} | ${w.pagesExtended == null ? "–" : `${n0(w.pagesExtended * 8192)} B`} |`,
  );

const labRows = hostileLab.map(
  (l) =>
    `| ${l.broker} | ${n0(l.messages)} (${n0(l.valid)} valid, ${n0(l.hostile)} hostile, ${l.devices} devices) | ${n0(l.messagesPerSecond)} | ${l.alarmPublishToCommitMs.p50} / ${l.alarmPublishToCommitMs.p99} ms | ${l.ingestDownS} s | ${Object.entries(
      l.deadLetters,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")} |`,
);
const md = `<!-- written by tools/bench.mjs (npm run bench); do not edit by hand -->
Run ${result.date.slice(0, 16).replace("T", " ")} UTC on ${result.machine.cpus} × ${result.machine.model}, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}${ingest ? `, PostgreSQL ${ingest.postgres} (embedded), Mosquitto (shipped config)` : ""}; whole lab ${result.labSeconds.toFixed(0)} s. Each figure beside its reference from the same run.

| figure | measured | reference (same run) | ratio |
| --- | --- | --- | --- |
${rows.join("\n")}

Cores used per role during each phase (sampled from /proc every ${SAMPLE_MS} ms; "bench process" hosts ingest, or the API, with its load client):

| phase | wall | cores by role |
| --- | --- | --- |
${cpuRows.join("\n")}

Per process role, whole step:

| step | role | processes | CPU s | peak memory MiB (PSS, read every ${(SAMPLE_MS * MEMORY_EVERY) / 1000} s) |
| --- | --- | --- | --- | --- |
${procRows.join("\n")}

Hostile-input lab (ingest SIGKILLed and restarted at the half; messages/s over the whole run, restart included; alarm latency leaves out alarms sent while ingest was down):

| broker | messages | messages/s | alarm publish→commit p50 / p99 | ingest down | dead letters by reason |
| --- | --- | --- | --- | --- | --- |
${labRows.join("\n") || "| (not run) | | | | | |"}

Fleet (devices each on their own connection to Mosquitto, shipped config; lag is the position's commit time minus the fix time the device stamped as it published):

| devices connected | reporting | steady | positions/s | PUBACKed / stored / lost | lag p50 / p99 / max | ingest's lag gauge p50 / p99 / max | plain subscriber (floor) p50 / p99 / max | Mosquitto RSS | ingest RSS |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${
  fleet
    ? `| ${n0(fleet.connected)} of ${n0(fleet.devices)} in ${n1(fleet.connectSeconds)} s | every ${fleet.intervalS} s, ${n1(fleet.trackingShare * 100)} % every ${fleet.trackingIntervalS} s | ${n0(fleet.steadySeconds)} s | ${n1(fleet.positionsPerS)} | ${n0(fleet.acked)} / ${n0(fleet.stored)} / ${n0(fleet.lost)} | ${n0(fleet.lagMs.p50)} / ${n0(fleet.lagMs.p99)} / ${n0(fleet.lagMs.max)} ms | ${n0(fleet.ingestGaugeLagMs?.p50)} / ${n0(fleet.ingestGaugeLagMs?.p99)} / ${n0(fleet.ingestGaugeLagMs?.max)} ms | ${n0(fleet.floorLagMs?.p50)} / ${n0(fleet.floorLagMs?.p99)} / ${n0(fleet.floorLagMs?.max)} ms | ${n0(fleet.brokerRssMiB.before)} → ${n0(fleet.brokerRssMiB.steady)} MiB, ${n1(fleet.brokerKiBPerConnection)} KiB per connection | ${n0(fleet.ingestRssMiB.before)} → ${n0(fleet.ingestRssMiB.steady)} MiB, ${n1(fleet.ingestKiBPerDevice)} KiB per device |`
    : "| (not run) | | | | | | | | | |"
}
${
  derived.fleetCpuPerPosition
    ? `\nCPU per stored position in the fleet's steady window (${n0(fleet.steadyPositions)} positions; batches of a few rows, so what each batch costs whatever its size dominates): ${derived.fleetCpuPerPosition.map((r) => `${r.role} ${n0(r.perPositionUs)} µs (${n2(r.cores)} cores${r.positionsPerCore ? `, ${n0(r.positionsPerCore)} positions/s per core` : ""}${r.perCommitUs ? `, ${n0(r.perCommitUs)} µs per commit` : ""})`).join("; ")}; ${n0(fleet.steadyCommits)} PostgreSQL commits, ${n1(fleet.steadyCommits / fleet.steadySeconds)}/s.\n`
    : ""
}
CPU per stored position, 1 fix/message, against the floor (a plain subscriber's and the broker's CPU per message in bare_broker, plus PostgreSQL's and the client's per row in raw_copy; the issue asks at most 1.6 for all three):

| role | ingest_1fix, per position | floor, same run | ratio |
| --- | --- | --- | --- |
${floorRows.join("\n") || "| (not measured) | | | |"}
${
  writeRows.length
    ? `
What PostgreSQL wrote per stored position (pg_stat_wal and pg_stat_io, every backend, over each phase and the 1.5 s after it; pages written include what earlier phases left dirty):

| phase | WAL | WAL records | pages written | pages extended |
| --- | --- | --- | --- | --- |
${writeRows.join("\n")}
`
    : ""
}
Per-core figures (the capacity model's inputs):

| figure | value |
| --- | --- |
${perCoreRows.join("\n")}
`;
await writeFile(join(outDir, "latest.md"), md);
console.log(`\n${md}\nwritten: bench-results/latest.json, bench-results/latest.md`);
const failed = runs.filter((r) => r.exitCode !== undefined && r.exitCode !== 0);
if (failed.length) {
  console.error(`failed: ${failed.map((r) => `${r.step} (exit ${r.exitCode})`).join(", ")}`);
  process.exit(1);
}
