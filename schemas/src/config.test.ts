import { describe, expect, it } from "vitest";
import { apiEnv, ConfigError, ingestEnv, loadConfig, standaloneEnv } from "./config";

describe("configuration", () => {
  it("fills defaults", () => {
    const c = loadConfig(ingestEnv, { DATABASE_URL: "postgres://u@db/vakt", MQTT_URL: "mqtt://broker:1883" });
    expect(c.INGEST_BATCH_MAX_WAIT_MS).toBe(25);
    expect(c.INGEST_HTTP_PORT).toBe(5055);
    expect(loadConfig(standaloneEnv, {}).SIM_ENABLED).toBe(true);
    expect(loadConfig(standaloneEnv, { SIM_ENABLED: "false" }).SIM_ENABLED).toBe(false);
  });

  it("names each variable that is missing or wrong, one line each", () => {
    try {
      loadConfig(apiEnv, { DATABASE_URL: "mysql://x", API_PORT: "70000", MQTT_URL: "mqtt://b" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const lines = (err as ConfigError).problems;
      expect(lines.some((l) => l.startsWith("DATABASE_URL:"))).toBe(true);
      expect(lines.some((l) => l.startsWith("API_PORT:"))).toBe(true);
      expect(lines.some((l) => l.startsWith("PSEUDONYM_KEY:"))).toBe(true);
      expect(lines).toHaveLength(3);
    }
  });

  it("reads OUTBOUND_ALLOW_NETWORKS as a list of networks and names a bad entry", () => {
    const base = {
      DATABASE_URL: "postgres://u@db/vakt",
      MQTT_URL: "mqtt://b",
      PSEUDONYM_KEY: "k".repeat(32),
    };
    expect(loadConfig(apiEnv, base).OUTBOUND_ALLOW_NETWORKS).toBeUndefined();
    expect(
      loadConfig(apiEnv, { ...base, OUTBOUND_ALLOW_NETWORKS: " 10.0.0.0/8, 127.0.0.1/32,fd00::/8 " })
        .OUTBOUND_ALLOW_NETWORKS,
    ).toEqual(["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]);
    for (const bad of ["10.0.0.0/33", "localhost", "10.0.0.1", "10.0.0.0/8;rm"]) {
      expect(() => loadConfig(apiEnv, { ...base, OUTBOUND_ALLOW_NETWORKS: bad }), bad).toThrow(
        /OUTBOUND_ALLOW_NETWORKS/,
      );
    }
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig(standaloneEnv, { DATABASE_URL: "" }).DATABASE_URL).toBeUndefined();
  });

  it("serves API metrics on loopback by default, and never on the API's own port", () => {
    const base = {
      DATABASE_URL: "postgres://u@db/vakt",
      MQTT_URL: "mqtt://broker:1883",
      PSEUDONYM_KEY: "a-pseudonym-key-of-at-least-32-characters",
    };
    const c = loadConfig(apiEnv, base);
    expect([c.API_METRICS, c.API_METRICS_HOST, c.API_METRICS_PORT]).toEqual([true, "127.0.0.1", 9464]);
    expect(() => loadConfig(apiEnv, { ...base, API_PORT: "9000", API_METRICS_PORT: "9000" })).toThrow(
      /API_METRICS_PORT: must differ from API_PORT/,
    );
    // Turned off, the port no longer matters.
    expect(
      loadConfig(apiEnv, { ...base, API_PORT: "9000", API_METRICS_PORT: "9000", API_METRICS: "false" })
        .API_METRICS,
    ).toBe(false);
  });

  it("serves ingest's metrics on loopback by default, and never on the OsmAnd port", () => {
    const base = { DATABASE_URL: "postgres://u@db/vakt", MQTT_URL: "mqtt://broker:1883" };
    const c = loadConfig(ingestEnv, base);
    expect([c.INGEST_METRICS, c.INGEST_METRICS_HOST, c.INGEST_METRICS_PORT]).toEqual([
      true,
      "127.0.0.1",
      9465,
    ]);
    expect(() => loadConfig(ingestEnv, { ...base, INGEST_HTTP_PORT: "9465" })).toThrow(
      /INGEST_METRICS_PORT: must differ from INGEST_HTTP_PORT/,
    );
  });
});
