import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { loginResponse } from "@vakt/schemas";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiProblem, CSRF_HEADER, setCsrfToken } from "./client";
import { createApiClient, data } from "./typed";

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
      message: "Wrong e-mail or password.",
    });
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
