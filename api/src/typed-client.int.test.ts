/**
 * The generated types (api/openapi/schema.generated.d.ts) used by a real client, openapi-fetch,
 * against the real server: what the types promise is what the server answers.
 */
import { department, meResponse, problem } from "@vakt/schemas";
import createClient, { type Middleware } from "openapi-fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { paths } from "../openapi/schema.generated";
import { addUser, createHarness, createOrg, type Harness, PASSWORD, type TestOrg } from "../test/harness";
import { type RunningApi, startApiServer } from "./server";

let h: Harness;
let org: TestOrg;
let api: RunningApi;

beforeAll(async () => {
  h = await createHarness();
  h.clock.now = new Date();
  org = await createOrg(h);
  api = await startApiServer({
    ...h.deps,
    clock: { now: () => new Date() },
    port: 0,
    host: "127.0.0.1",
    live: false,
    alerting: false,
  });
}, 60_000);
afterAll(async () => {
  await api?.close();
  await h?.close();
});

/** A browser's part: keeps the cookies, echoes the CSRF token, says where it comes from. */
function browserLike(): Middleware {
  const jar = new Map<string, string>();
  return {
    onRequest({ request }) {
      if (jar.size > 0) request.headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
      if (request.method !== "GET") {
        request.headers.set("origin", "http://localhost:3000");
        const csrf = jar.get("vakt_csrf");
        if (csrf) request.headers.set("x-csrf-token", csrf);
      }
      return request;
    },
    onResponse({ response }) {
      for (const c of response.headers.getSetCookie()) {
        const [pair = ""] = c.split(";");
        const [name = "", ...value] = pair.split("=");
        jar.set(name.trim(), value.join("="));
      }
    },
  };
}

describe("the typed client (openapi-fetch over the generated types)", () => {
  it("logs in, reads who it is, creates a department, and gets typed problems back", async () => {
    const admin = await addUser(h, org, "typedadmin", [{ role: "org_admin", departmentId: null }]);
    const client = createClient<paths>({ baseUrl: api.url });
    client.use(browserLike());

    const login = await client.POST("/api/v1/auth/login", {
      body: { email: admin.email, password: PASSWORD },
    });
    expect(login.response.status).toBe(200);
    expect(login.data?.stage).toBe("active");

    const me = await client.GET("/api/v1/auth/me");
    expect(meResponse.parse(me.data).user.email).toBe(admin.email);

    const created = await client.POST("/api/v1/departments", {
      body: { name: "Typed", parentId: org.departments.a },
    });
    expect(created.response.status).toBe(201);
    expect(department.parse(created.data).name).toBe("Typed");

    const renamed = await client.PATCH("/api/v1/departments/{id}", {
      params: { path: { id: created.data?.id as string } },
      body: { name: "Typed, renamed" },
    });
    expect(renamed.data?.name).toBe("Typed, renamed");

    // A body the server refuses: the error is the problem document the types describe.
    const refused = await client.POST("/api/v1/departments", { body: { name: "", parentId: null } });
    expect(refused.response.status).toBe(400);
    expect(problem.parse(refused.error).status).toBe(400);
  });
});
