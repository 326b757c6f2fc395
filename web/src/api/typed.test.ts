import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { loginResponse } from "@vakt/schemas";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ApiProblem, CSRF_HEADER, onUnauthenticated, setCsrfToken } from "./client";
import { createApiClient, data, downloadHref, quiet401 } from "./typed";

const seen: { method: string; url: string; csrf: string | undefined; body: string }[] = [];
const server = createServer(async (req: IncomingMessage, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  seen.push({ method: req.method ?? "", url: req.url ?? "", csrf: req.headers[CSRF_HEADER] as string, body });
  if (req.url === "/api/v1/auth/login" && JSON.parse(body).password === "right") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({ stage: "active", csrfToken: "next-token", expiresAt: "2026-12-02T20:00:00.000Z" }),
    );
    return;
  }
  if (req.url === "/api/v1/organisation") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end("<html>a proxy's page</html>");
    return;
  }
  res.writeHead(401, { "content-type": "application/problem+json" });
  res.end(
    JSON.stringify({
      type: "https://vakt.dev/problems/unauthenticated",
      title: "Not logged in",
      status: 401,
      detail: "Wrong e-mail or password.",
      requestId: "req-1",
    }),
  );
});
let api: ReturnType<typeof createApiClient>;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  api = createApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("typed API client", () => {
  it("sends the typed body with the CSRF token, and checks the answer with the shared schema", async () => {
    setCsrfToken("token-1");
    const r = await data(
      api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: "right" } }),
      loginResponse,
    );
    expect(r.stage).toBe("active");
    expect(seen.at(-1)).toMatchObject({ method: "POST", url: "/api/v1/auth/login", csrf: "token-1" });
    expect(JSON.parse(seen.at(-1)?.body ?? "")).toEqual({ email: "a@example.org", password: "right" });
  });

  it("throws the problem of a failed answer as ApiProblem, like the hand-written client", async () => {
    const failed = data(
      api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: "wrong" } }),
      loginResponse,
    );
    await expect(failed).rejects.toBeInstanceOf(ApiProblem);
    await expect(failed).rejects.toMatchObject({
      status: 401,
      code: "unauthenticated",
      detail: "Wrong e-mail or password.",
    });
  });

  it("fetches a lazily given schema only once a successful answer is there (the login page's way)", async () => {
    const asked: string[] = [];
    const loader = (name: string) => async () => {
      asked.push(name);
      return loginResponse;
    };
    const refused = data(
      api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: "wrong" } }),
      loader("refused"),
    );
    await expect(refused).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
    const r = await data(
      api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: "right" } }),
      loader("accepted"),
    );
    expect(r.csrfToken).toBe("next-token");
    expect(asked).toEqual(["accepted"]);
    // An answer the lazily fetched schema refuses is a problem too, as with a schema given at once.
    const refusing = data(
      api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: "right" } }),
      async () => z.object({ enabled: z.literal(true) }),
    );
    await expect(refusing).rejects.toMatchObject({ status: 200, code: "unexpected" });
    await expect(refusing).rejects.toSatisfy((p: ApiProblem) => p.detail.includes("enabled"));
  });

  it("tells the app a session is gone on a 401, except for a call marked quiet401", async () => {
    let told = 0;
    const stop = onUnauthenticated(() => told++);
    try {
      await expect(data(api.GET("/api/v1/auth/me"), z.unknown())).rejects.toMatchObject({ status: 401 });
      expect(told).toBe(1);
      const quiet = data(api.GET("/api/v1/auth/me", { middleware: [quiet401] }), z.unknown());
      await expect(quiet).rejects.toMatchObject({ status: 401, code: "unauthenticated" });
      expect(told).toBe(1);
    } finally {
      stop();
    }
  });

  it("turns an unreachable server and a success that is not JSON into problems, not English", async () => {
    const gone = createApiClient("http://127.0.0.1:1");
    await expect(data(gone.GET("/api/v1/organisation"), z.unknown())).rejects.toMatchObject({
      status: 0,
      code: "network",
    });
    const odd = data(api.GET("/api/v1/organisation"), z.unknown());
    await expect(odd).rejects.toBeInstanceOf(ApiProblem);
    await expect(odd).rejects.toMatchObject({ code: "unexpected" });
  });

  it("builds a download link whose path parameter and query survive any text", () => {
    fc.assert(
      fc.property(
        // "." and ".." are dot segments to every URL parser, encoded or not (as in openapi-fetch's own
        // calls); ids are UUIDs, and the API refuses anything else.
        fc.string({ minLength: 1 }).filter((s) => s !== "." && s !== ".."),
        fc.option(fc.string(), { nil: undefined }),
        fc.option(fc.string(), { nil: undefined }),
        (id, from, to) => {
          const href = downloadHref("/api/v1/privacy/recipients/{id}/export", {
            path: { id },
            query: { format: "zip", from, to },
          });
          const url = new URL(href, "http://x");
          const segments = url.pathname.split("/");
          expect(segments).toHaveLength(7);
          expect(decodeURIComponent(segments[5] ?? "")).toBe(id);
          expect(url.searchParams.get("format")).toBe("zip");
          expect(url.searchParams.get("from")).toBe(from ?? null);
          expect(url.searchParams.get("to")).toBe(to ?? null);
        },
      ),
    );
    // @ts-expect-error the export's query has no such field
    void downloadHref("/api/v1/activity/export.csv", { query: { nonsense: 1 } });
  });

  it("refuses at compile time what the API document does not describe", () => {
    // Not sent: these lines exist for `tsc`, which fails if the generated types stop rejecting them.
    const never = () => {
      // @ts-expect-error a path the API does not have
      void api.GET("/api/v1/no-such-route");
      // @ts-expect-error a body field of the wrong type
      void api.POST("/api/v1/auth/login", { body: { email: "a@example.org", password: 12 } });
      // @ts-expect-error a required body field left out
      void api.POST("/api/v1/auth/login", { body: { email: "a@example.org" } });
      // @ts-expect-error the path parameter is required
      void api.GET("/api/v1/alarms/{id}", {});
    };
    expect(typeof never).toBe("function");
  });
});
