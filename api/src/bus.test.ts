import { EventEmitter } from "node:events";
import type { InProcessEvent } from "@vakt/schemas";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Bus, createBus } from "./bus";

const events = ["alarm", "reopened", "device", "alert", "alarm:emitted"] as const satisfies InProcessEvent[];

type Op =
  | { op: "on"; event: InProcessEvent }
  | { op: "off"; pick: number }
  | { op: "emit"; event: InProcessEvent; value: number };

const ops = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant("on" as const), event: fc.constantFrom(...events) }),
    fc.record({ op: fc.constant("off" as const), pick: fc.nat() }),
    fc.record({ op: fc.constant("emit" as const), event: fc.constantFrom(...events), value: fc.integer() }),
  ),
  { maxLength: 60 },
);

/** Runs the ops on a bus and on Node's EventEmitter (what the bus replaced): who heard what, in order. */
function run(script: Op[]) {
  const bus = createBus();
  const emitter = new EventEmitter();
  const heard = { bus: [] as [number, unknown][], emitter: [] as [number, unknown][] };
  const live: { off: () => void; event: InProcessEvent; fn: (p: unknown) => void }[] = [];
  for (const [i, o] of script.entries()) {
    if (o.op === "on") {
      const onBus = (p: unknown) => heard.bus.push([i, p]);
      const onEmitter = (p: unknown) => heard.emitter.push([i, p]);
      emitter.on(o.event, onEmitter);
      live.push({ off: bus.on(o.event, onBus), event: o.event, fn: onEmitter });
    } else if (o.op === "off" && live.length > 0) {
      const [s] = live.splice(o.pick % live.length, 1);
      s?.off();
      if (s) emitter.off(s.event, s.fn);
    } else if (o.op === "emit") {
      // The payload's shape does not matter to the bus; a number tells the emits apart.
      bus.emit(o.event, o.value as never);
      emitter.emit(o.event, o.value);
    }
  }
  return heard;
}

describe("the in-process bus", () => {
  it("calls listeners as EventEmitter did: every current one, in the order they subscribed", () => {
    fc.assert(
      fc.property(ops, (script) => {
        const heard = run(script);
        expect(heard.bus).toEqual(heard.emitter);
      }),
    );
  });

  it("unsubscribes only the subscription it was given", () => {
    const bus = createBus();
    const got: string[] = [];
    const listener = (e: { deviceId: string }) => got.push(e.deviceId);
    const first = bus.on("device", listener);
    bus.on("device", listener);
    first();
    first();
    bus.emit("device", { deviceId: "d1" });
    expect(got).toEqual(["d1"]);
  });
});

/** Never run: tsc fails on an @ts-expect-error with no error under it, so each line must stay wrong. */
export function wrongNamesAndPayloadsDoNotCompile(bus: Bus) {
  // @ts-expect-error: no such event
  bus.emit("alarm:raised", { alarmId: "a" });
  // @ts-expect-error: a change the vocabulary does not have
  bus.emit("alarm", { alarmId: "a", change: "taken" });
  // @ts-expect-error: another event's payload
  bus.on("device", (e: { alarmId: string }) => e);
}
