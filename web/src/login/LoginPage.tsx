import type { SessionStage, SsoDiscoveryResponse } from "@vakt/schemas";
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiProblem, setCsrfToken } from "../api/client";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { later } from "./later";
import {
  discoverableEmail,
  FORGOT_PASSWORD,
  isSsoRequired,
  RETURN_TO,
  ssoStartUrl,
  takeSsoError,
} from "./sso";

type Step = "password" | "code" | "enrol";
type Providers = SsoDiscoveryResponse["providers"];

/** How long typing pauses before the console asks which single sign-on providers the address has. */
const DISCOVERY_DEBOUNCE_MS = 300;

/**
 * The single sign-on providers offered for the typed address, asked once per
 * domain (debounced while typing, at once when the field is left).
 */
function useSsoProviders(email: string) {
  const [found, setFound] = useState<{ domain: string; providers: Providers }>({ domain: "", providers: [] });
  const asked = useRef("");
  const discover = useCallback(async (input: string) => {
    const address = discoverableEmail(input);
    const domain = address?.domain ?? "";
    if (domain === asked.current) return;
    asked.current = domain;
    if (!address) return setFound({ domain, providers: [] });
    let providers: Providers = [];
    try {
      providers = (
        await data(
          api.GET("/api/v1/auth/sso/providers", { params: { query: { email: address.email } } }),
          later("ssoDiscoveryResponse"),
        )
      ).providers;
    } catch {
      // Not reachable: the password login stays, and leaving the field asks again.
      if (asked.current === domain) asked.current = "";
    }
    if (asked.current === domain) setFound({ domain, providers });
  }, []);
  useEffect(() => {
    const timer = setTimeout(() => void discover(email), DISCOVERY_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [email, discover]);
  const current = discoverableEmail(email)?.domain ?? "";
  return { providers: found.domain === current ? found.providers : [], discover };
}

/** Sends a step's form and keeps the CSRF token; the stage the session is at after it. */
async function sendStep(
  step: Step,
  form: { email: string; password: string; code: string },
): Promise<SessionStage> {
  if (step === "enrol") {
    const r = await data(
      api.POST("/api/v1/auth/totp/enable", { body: { code: form.code } }),
      later("totpEnabled"),
    );
    if (r.session) setCsrfToken(r.session.csrfToken);
    return "active";
  }
  const r = await data(
    step === "password"
      ? api.POST("/api/v1/auth/login", { body: { email: form.email, password: form.password } })
      : api.POST("/api/v1/auth/second-factor", { body: { code: form.code } }),
    later("loginResponse"),
  );
  setCsrfToken(r.csrfToken);
  return r.stage;
}

/**
 * E-mail first: single sign-on buttons for the address's domain, or the
 * password, then the TOTP code (or enrolment when the organisation requires one).
 */
export function LoginPage(props: { expired: boolean; onLoggedIn: () => Promise<void> }) {
  const { t } = useUi();
  const [step, setStep] = useState<Step>("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const ssoError = useSsoError();
  const [error, setError] = useState<string | null>(() => (ssoError.key ? t(ssoError.key) : null));
  const [busy, setBusy] = useState(false);
  const sso = useSsoProviders(email);

  const after = async (stage: SessionStage) => {
    if (stage === "active") return props.onLoggedIn();
    if (stage === "second_factor_required") return setStep("code");
    const setup = await data(api.POST("/api/v1/auth/totp/setup"), later("totpSetupResponse"));
    setSecret(setup.secret);
    setStep("enrol");
  };

  const run = (f: () => Promise<void>) => async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await f();
    } catch (err) {
      if (isSsoRequired(err)) {
        setError(t("login.ssoRequired"));
        void sso.discover(email);
      } else setError(failureText(t, err, step));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form
        className="card login__form"
        aria-labelledby="login-title"
        onSubmit={run(async () => after(await sendStep(step, { email, password, code })))}
      >
        <h1 id="login-title">{t("login.title")}</h1>
        {props.expired && (
          <p className="notice" role="status">
            {t("login.expired")}
          </p>
        )}
        {step === "password" ? (
          <PasswordFields
            email={email}
            setEmail={setEmail}
            password={password}
            setPassword={setPassword}
            sso={sso}
          />
        ) : (
          <CodeFields enrolSecret={step === "enrol" ? secret : undefined} code={code} setCode={setCode} />
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {step === "password" ? t("login.submit") : t("login.codeSubmit")}
        </button>
        {step === "password" && (
          <p className="login__forgot">
            <Link to={FORGOT_PASSWORD}>{t("login.forgot")}</Link>
          </p>
        )}
      </form>
    </main>
  );
}

/** A failed single sign-on comes back as /login?sso_error=<code>: read once, then dropped from the address. */
function useSsoError() {
  const [ssoError] = useState(() => takeSsoError(location.search));
  useEffect(() => {
    if (ssoError.key)
      history.replaceState(history.state, "", location.pathname + ssoError.search + location.hash);
  }, [ssoError]);
  return ssoError;
}

/** A failed step in words. */
function failureText(t: ReturnType<typeof useUi>["t"], err: unknown, step: Step): string {
  // The login's own 401 means wrong credentials here, not an ended session.
  if (err instanceof ApiProblem && err.code === "unauthenticated")
    return t(step === "password" ? "login.wrongPassword" : "login.wrongCode");
  return t("login.failed", { message: err instanceof Error ? err.message : String(err) });
}

/** The e-mail, the single sign-on buttons for its domain, and the password. */
function PasswordFields(props: {
  email: string;
  setEmail(email: string): void;
  password: string;
  setPassword(password: string): void;
  sso: ReturnType<typeof useSsoProviders>;
}) {
  const { t } = useUi();
  const { email, sso } = props;
  const startSso = (providerId: string) => {
    location.assign(ssoStartUrl(providerId, sessionStorage.getItem(RETURN_TO)));
  };
  return (
    <>
      <label>
        {t("login.email")}
        <input
          type="email"
          name="email"
          autoComplete="username"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          value={email}
          onChange={(e) => props.setEmail(e.target.value)}
          onBlur={() => void sso.discover(email)}
        />
      </label>
      <div aria-live="polite">
        {sso.providers.length > 0 && (
          // biome-ignore lint/a11y/useSemanticElements: a row of buttons, not form fields (a fieldset would say otherwise)
          <div className="login__sso" role="group" aria-label={t("login.sso")} data-testid="sso-providers">
            {sso.providers.map((p) => (
              <button key={p.id} type="button" className="primary" onClick={() => startSso(p.id)}>
                {t("login.withProvider", { name: p.displayName })}
              </button>
            ))}
            <p className="login__or">{t("login.or")}</p>
          </div>
        )}
      </div>
      <label>
        {t("login.password")}
        <input
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={props.password}
          onChange={(e) => props.setPassword(e.target.value)}
        />
      </label>
    </>
  );
}

/** The authenticator's code; when enrolling (enrolSecret not undefined), the secret to add to the app first. */
function CodeFields(props: {
  enrolSecret: string | null | undefined;
  code: string;
  setCode(code: string): void;
}) {
  const { t } = useUi();
  return (
    <>
      {props.enrolSecret !== undefined && (
        <p>
          {t("login.enrol")}
          <br />
          {t("login.secret")}: <code data-testid="totp-secret">{props.enrolSecret}</code>
        </p>
      )}
      <label>
        {t("login.code")}
        <input
          name="code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          value={props.code}
          onChange={(e) => props.setCode(e.target.value.trim())}
        />
      </label>
    </>
  );
}
