import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseBrokerLogLine } from "./presence";

const serial = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/).filter((s) => !s.toLowerCase().startsWith("vakt-"));
const epoch = fc.integer({ min: 0, max: 2 ** 40 });

describe("the broker's connection log", () => {
  it("reads Mosquitto's connect and drop lines for a device's client id", () => {
    fc.assert(
      fc.property(epoch, serial, fc.ipV4(), fc.nat(65535), (t, id, ip, port) => {
        expect(
          parseBrokerLogLine(
            `${t}: New client connected from ${ip}:${port} as ${id} (p2, c0, k60, u'${id}').`,
          ),
        ).toEqual({ clientId: id, connected: true });
        for (const line of [
          `${t}: Client ${id} closed its connection.`,
          `${t}: Client ${id} has exceeded timeout, disconnecting.`,
          `${t}: Socket error on client ${id}, disconnecting.`,
          `${t}: Client ${id} disconnected due to protocol error.`,
        ])
          expect(parseBrokerLogLine(line)).toEqual({ clientId: id, connected: false });
      }),
    );
  });

  it("leaves a DISCONNECT the device sent, a session taken over and the services' own clients alone", () => {
    fc.assert(
      fc.property(epoch, serial, (t, id) => {
        expect(parseBrokerLogLine(`${t}: Client ${id} disconnected.`)).toBeUndefined();
        expect(
          parseBrokerLogLine(`${t}: Client ${id} already connected, closing old connection.`),
        ).toBeUndefined();
        expect(parseBrokerLogLine(`${t}: Client vakt-${id} closed its connection.`)).toBeUndefined();
      }),
    );
  });

  it("never throws, and names only an id of the serial alphabet, for any line", () => {
    const around = fc
      .tuple(fc.string(), fc.string(), fc.string())
      .map(([a, b, c]) => `${a}: Client ${b} closed its connection.${c}`);
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), around), (line) => {
        const e = parseBrokerLogLine(line);
        if (e) expect(e.clientId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
      }),
      { numRuns: 2_000 },
    );
  });
});
