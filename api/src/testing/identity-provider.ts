/// <reference path="./oidc-provider.d.ts" />
/**
 * A real OpenID Connect provider in-process, for tests: oidc-provider (a
 * certified implementation) on 127.0.0.1 with one confidential client, PKCE
 * required, RP-initiated logout, and claims email, email_verified, groups,
 * given_name, family_name and name (groups come with the openid scope, like
 * Entra ID's group claim). There is no login form: an interactive login logs
 * in as the account chosen with loginAs() and consents at once, so a browser
 * or an HTTP client following redirects gets through. Logout shows a
 * confirmation form that submits itself.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { freePort } from "@vakt/storage";
import Provider, { interactionPolicy, type OidcContext } from "oidc-provider";

export interface TestAccount {
  sub: string;
  email: string;
  emailVerified: boolean;
  groups: string[];
  givenName?: string;
  familyName?: string;
}

export interface TestIdentityProvider {
  /** e.g. http://127.0.0.1:<port> */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Add or replace an account (by sub). */
  setAccount(account: TestAccount): void;
  /** Which account the next interactive login logs in as (no login form: the provider auto-logs-in and auto-consents). */
  loginAs(sub: string): void;
  close(): Promise<void>;
}

const html = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

export async function startTestIdentityProvider(opts: {
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  idTokenTtlSeconds?: number;
}): Promise<TestIdentityProvider> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = "vakt-test";
  const clientSecret = randomBytes(24).toString("base64url");
  const accounts = new Map<string, TestAccount>();
  let current: string | undefined;

  const jwk = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  // Log in again whenever the session's account is not the one chosen with loginAs.
  const policy = interactionPolicy.base();
  policy
    .get("login")
    ?.checks.add(
      new interactionPolicy.Check(
        "login_as_changed",
        "another test account was chosen",
        (ctx: OidcContext) =>
          current !== undefined && ctx.oidc.session?.accountId !== current
            ? interactionPolicy.Check.REQUEST_PROMPT
            : interactionPolicy.Check.NO_NEED_TO_PROMPT,
      ),
    );

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        post_logout_redirect_uris: opts.postLogoutRedirectUris ?? [],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    jwks: { keys: [{ ...jwk, kid: "test-key", use: "sig", alg: "RS256" }] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    claims: {
      openid: ["sub", "groups"],
      email: ["email", "email_verified"],
      profile: ["given_name", "family_name", "name"],
    },
    ttl: {
      IdToken: opts.idTokenTtlSeconds ?? 3600,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx: OidcContext, form: string) => {
          const yes = form.replace("</form>", '<input type="hidden" name="logout" value="yes"/></form>');
          ctx.body = `<!doctype html><html><head><meta charset="utf-8"><title>Signing out</title></head><body>${yes}
<button type="submit" form="op.logoutForm">Sign out</button>
<script>document.getElementById("op.logoutForm").submit()</script></body></html>`;
        },
        postLogoutSuccessSource: async (ctx: OidcContext) => {
          ctx.body = "<!doctype html><title>Signed out</title><p>Signed out.</p>";
        },
      },
    },
    interactions: {
      policy,
      url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
    },
    async findAccount(_ctx: unknown, sub: string) {
      const a = accounts.get(sub);
      if (!a) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub: a.sub,
            email: a.email,
            email_verified: a.emailVerified,
            groups: a.groups,
            ...(a.givenName ? { given_name: a.givenName } : {}),
            ...(a.familyName ? { family_name: a.familyName } : {}),
            ...(a.givenName || a.familyName
              ? { name: [a.givenName, a.familyName].filter(Boolean).join(" ") }
              : {}),
          };
        },
      };
    },
    clientBasedCORS: () => false,
    renderError: async (ctx: OidcContext, out: Record<string, unknown>) => {
      ctx.body = `<!doctype html><title>Error</title><pre>${html(JSON.stringify(out))}</pre>`;
    },
  });

  /** Finishes login (as the loginAs account) and consent without a form. */
  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name === "login") {
      if (!current || !accounts.has(current)) {
        await provider.interactionFinished(
          req,
          res,
          { error: "access_denied", error_description: "no test account chosen with loginAs()" },
          { mergeWithLastSubmission: false },
        );
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: current } },
        {
          mergeWithLastSubmission: false,
        },
      );
      return;
    }
    const d = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({
        accountId: details.session?.accountId,
        clientId: String(details.params.client_id),
      });
    if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(" "));
    if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {}))
      grant.addResourceScope(indicator, scopes.join(" "));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { consent: details.grantId ? {} : { grantId } },
      { mergeWithLastSubmission: true },
    );
  }

  const handler = provider.callback();
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.startsWith("/interaction/")) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(err instanceof Error ? err.message : String(err));
      });
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

  return {
    issuer,
    clientId,
    clientSecret,
    setAccount(account) {
      accounts.set(account.sub, { ...account, groups: [...account.groups] });
    },
    loginAs(sub) {
      current = sub;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
