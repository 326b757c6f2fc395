/**
 * CPU per stored position against its floor (issue #20, item 2), from the cores each role used
 * during the ingest bench's phases (tools/bench.mjs samples /proc). The floor for one fix a message
 * is what the same work costs with nothing of Vakt's in it: a plain QoS 1 subscriber receiving the
 * messages (its own CPU and the broker's, phase `bare_broker`) plus a raw COPY of the same rows into
 * `positions` (PostgreSQL's CPU and the COPY client's, phase `raw_copy`). Ingest's figure is the
 * ingest process, PostgreSQL and the broker during `ingest_1fix`, per position stored. The
 * publisher is left out of both: it is the load, not the platform.
 */

/** Microseconds of CPU per item: cores in use divided by items per second. */
const perItemUs = (cores, rate) => (cores !== undefined && rate > 0 ? (cores / rate) * 1e6 : undefined);
const sum = (xs) => (xs.some((x) => x === undefined) ? undefined : xs.reduce((a, b) => a + b, 0));

/**
 * @param {Record<string, {cores: Record<string, number>}>} phases keyed `ingest.<phase>`
 * @param {{bareBrokerMsgPerS?: number, rawCopyRowsPerS?: number, ingest1FixPositionsPerS?: number}} rates
 * @returns {{role: string, measuredUs?: number, floorUs?: number, ratio?: number}[] | undefined}
 *   one row per role (ingest, postgres, broker) and a last row for all three; undefined when a
 *   phase or rate is missing.
 */
export function cpuPerPositionAgainstFloor(phases, rates) {
  const bare = phases["ingest.bare_broker"]?.cores;
  const copy = phases["ingest.raw_copy"]?.cores;
  const run = phases["ingest.ingest_1fix"]?.cores;
  const { bareBrokerMsgPerS: bareRate, rawCopyRowsPerS: copyRate, ingest1FixPositionsPerS: rate } = rates;
  if (!bare || !copy || !run || !(bareRate > 0) || !(copyRate > 0) || !(rate > 0)) return undefined;
  // A role the sampler never saw in a phase used no CPU there.
  const c = (cores, role) => cores[role] ?? 0;
  const roles = [
    {
      role: "ingest",
      measuredUs: perItemUs(c(run, "bench process"), rate),
      floorUs: sum([
        perItemUs(c(bare, "bench process"), bareRate),
        perItemUs(c(copy, "bench process"), copyRate),
      ]),
    },
    {
      role: "postgres",
      measuredUs: perItemUs(c(run, "postgres"), rate),
      floorUs: perItemUs(c(copy, "postgres"), copyRate),
    },
    {
      role: "broker",
      measuredUs: perItemUs(c(run, "mosquitto"), rate),
      floorUs: perItemUs(c(bare, "mosquitto"), bareRate),
    },
  ];
  roles.push({
    role: "all three",
    measuredUs: sum(roles.map((r) => r.measuredUs)),
    floorUs: sum(roles.map((r) => r.floorUs)),
  });
  return roles.map((r) => ({ ...r, ratio: r.floorUs > 0 ? r.measuredUs / r.floorUs : undefined }));
}

/**
 * CPU per stored position at fleet scale (issue #20, item 4): the fleet bench's steady window,
 * 10,000 devices each on a connection of its own, sending a few positions a second each. Batches
 * there hold a handful of rows, so what a batch costs whatever its size (round trips, statements
 * planned, the commit) dominates, unlike the lab's saturated phases: the capacity model needs both.
 *
 * @param {Record<string, {seconds: number, cores: Record<string, number>}>} phases keyed `fleet.<phase>`
 * @param {{steadyPositions?: number, steadyCommits?: number}} fleet
 * @returns {{role: string, cores: number, perPositionUs: number, perCommitUs?: number, positionsPerCore?: number}[] | undefined}
 *   perCommitUs: the role's CPU per PostgreSQL commit in the window (mostly ingest's batches).
 */
export function fleetCpuPerPosition(phases, fleet) {
  const steady = phases["fleet.steady"];
  const positions = fleet?.steadyPositions;
  if (!steady || !(steady.seconds > 0) || !(positions > 0)) return undefined;
  const rate = positions / steady.seconds;
  return [
    ["ingest", "bench process"],
    ["postgres", "postgres"],
    ["broker", "mosquitto"],
  ].map(([role, sampled]) => {
    const cores = steady.cores[sampled] ?? 0;
    return {
      role,
      cores,
      perPositionUs: (cores / rate) * 1e6,
      ...(fleet.steadyCommits > 0
        ? { perCommitUs: ((cores * steady.seconds) / fleet.steadyCommits) * 1e6 }
        : {}),
      ...(cores > 0 ? { positionsPerCore: rate / cores } : {}),
    };
  });
}
