import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { cpuPerPositionAgainstFloor, fleetCpuPerPosition } from "./cpu-floor.mjs";

const cores = fc.double({ min: 0.01, max: 4, noNaN: true });
const rate = fc.double({ min: 100, max: 1e6, noNaN: true });
const phasesOf = (bare, copy, run) => ({
  "ingest.bare_broker": { cores: { "bench process": bare.sub, mosquitto: bare.broker, publisher: 0.8 } },
  "ingest.raw_copy": { cores: { "bench process": copy.client, postgres: copy.pg } },
  "ingest.ingest_1fix": {
    cores: { "bench process": run.ingest, postgres: run.pg, mosquitto: run.broker, publisher: 9 },
  },
});

test("the total is the sum of the roles, and each ratio is measured over floor", () => {
  fc.assert(
    fc.property(
      fc.record({ sub: cores, broker: cores }),
      fc.record({ client: cores, pg: cores }),
      fc.record({ ingest: cores, pg: cores, broker: cores }),
      rate,
      rate,
      rate,
      (bare, copy, run, bareRate, copyRate, r) => {
        const rows = cpuPerPositionAgainstFloor(phasesOf(bare, copy, run), {
          bareBrokerMsgPerS: bareRate,
          rawCopyRowsPerS: copyRate,
          ingest1FixPositionsPerS: r,
        });
        assert.ok(rows);
        const [ingest, pg, broker, all] = rows;
        const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
        assert.ok(close(all.measuredUs, ingest.measuredUs + pg.measuredUs + broker.measuredUs));
        assert.ok(close(all.floorUs, ingest.floorUs + pg.floorUs + broker.floorUs));
        for (const row of rows) assert.ok(close(row.ratio, row.measuredUs / row.floorUs));
        // The publisher is load, never counted: doubling ingest's share doubles only ingest's figure.
        assert.ok(close(pg.measuredUs, (run.pg / r) * 1e6));
      },
    ),
  );
});

test("the figures of a known run: 1.36 cores at 14,225 positions/s against 29 µs", () => {
  const rows = cpuPerPositionAgainstFloor(
    phasesOf(
      { sub: 0.4, broker: 0.44 },
      { client: 0.19, pg: 0.71 },
      { ingest: 0.61, pg: 0.47, broker: 0.28 },
    ),
    { bareBrokerMsgPerS: 38_110, rawCopyRowsPerS: 124_470, ingest1FixPositionsPerS: 14_225 },
  );
  const all = rows?.at(-1);
  assert.equal(Math.round(all.measuredUs), 96);
  assert.equal(Math.round(all.floorUs), 29);
});

test("a missing phase or a zero rate gives no figure rather than a wrong one", () => {
  const full = phasesOf({ sub: 1, broker: 1 }, { client: 1, pg: 1 }, { ingest: 1, pg: 1, broker: 1 });
  const rates = { bareBrokerMsgPerS: 1000, rawCopyRowsPerS: 1000, ingest1FixPositionsPerS: 1000 };
  for (const key of Object.keys(full)) {
    const { [key]: _, ...rest } = full;
    assert.equal(cpuPerPositionAgainstFloor(rest, rates), undefined);
  }
  for (const key of Object.keys(rates))
    assert.equal(cpuPerPositionAgainstFloor(full, { ...rates, [key]: 0 }), undefined);
});

test("fleet: CPU per position is cores over the steady window's rate, and per core its inverse", () => {
  fc.assert(
    fc.property(cores, cores, cores, fc.double({ min: 1, max: 1e4, noNaN: true }), rate, (i, p, b, s, n) => {
      const rows = fleetCpuPerPosition(
        { "fleet.steady": { seconds: s, cores: { "bench process": i, postgres: p, mosquitto: b } } },
        { steadyPositions: n },
      );
      assert.ok(rows);
      const close = (a, x) => Math.abs(a - x) <= 1e-9 * Math.max(1, Math.abs(x));
      const byRole = Object.fromEntries(rows.map((r) => [r.role, r]));
      assert.ok(close(byRole.postgres.perPositionUs, (p * s * 1e6) / n));
      for (const r of rows) assert.ok(close(r.perPositionUs * r.positionsPerCore, 1e6));
    }),
  );
});

test("fleet: no figure without a steady window or with no position stored", () => {
  assert.equal(fleetCpuPerPosition({}, { steadyPositions: 10 }), undefined);
  const steady = { "fleet.steady": { seconds: 10, cores: { postgres: 1 } } };
  assert.equal(fleetCpuPerPosition(steady, { steadyPositions: 0 }), undefined);
  assert.equal(fleetCpuPerPosition(steady, {}), undefined);
});

test("fleet: CPU per commit is the role's CPU-seconds in the window over the commits", () => {
  const [ingest] = fleetCpuPerPosition(
    { "fleet.steady": { seconds: 100, cores: { "bench process": 0.2 } } },
    { steadyPositions: 1_000, steadyCommits: 4_000 },
  );
  assert.equal(Math.round(ingest.perCommitUs), 5_000);
  const [none] = fleetCpuPerPosition(
    { "fleet.steady": { seconds: 100, cores: { "bench process": 0.2 } } },
    { steadyPositions: 1_000 },
  );
  assert.equal(none.perCommitUs, undefined);
});
