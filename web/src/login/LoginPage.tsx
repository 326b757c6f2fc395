import { loginResponse, totpSetupResponse } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { send, setCsrfToken } from "../api/client";
import { useUi } from "../session/context";

type Step = "password" | "code" | "enrol";

/** E-mail and password, then the TOTP code (or enrolment when the organisation requires one). */
export function LoginPage(props: { expired: boolean; onLoggedIn: () => Promise<void> }) {
  const { t } = useUi();
  const [step, setStep] = useState<Step>("password");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const after = async (stage: z.infer<typeof loginResponse>["stage"]) => {
    if (stage === "active") return props.onLoggedIn();
    if (stage === "second_factor_required") return setStep("code");
    const setup = await send("POST", "/auth/totp/setup", undefined, totpSetupResponse);
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
      setError(t("login.failed", { message: err instanceof Error ? err.message : String(err) }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form
        className="card login__form"
        aria-labelledby="login-title"
        onSubmit={run(async () => {
          if (step === "password") {
            const r = await send("POST", "/auth/login", { email, password }, loginResponse);
            setCsrfToken(r.csrfToken);
            await after(r.stage);
          } else if (step === "code") {
            const r = await send("POST", "/auth/second-factor", { code }, loginResponse);
            setCsrfToken(r.csrfToken);
            await after(r.stage);
          } else {
            const r = await send(
              "POST",
              "/auth/totp/enable",
              { code },
              z.object({ enabled: z.literal(true), session: loginResponse.nullable() }),
            );
            if (r.session) setCsrfToken(r.session.csrfToken);
            await props.onLoggedIn();
          }
        })}
      >
        <h1 id="login-title">{t("login.title")}</h1>
        {props.expired && (
          <p className="notice" role="status">
            {t("login.expired")}
          </p>
        )}
        {step === "password" ? (
          <>
            <label>
              {t("login.email")}
              <input
                type="email"
                name="email"
                autoComplete="username"
                required
                autoFocus
                value={email}
                onChange={(e) => setEmail(e.target.value)}
              />
            </label>
            <label>
              {t("login.password")}
              <input
                type="password"
                name="password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.target.value)}
              />
            </label>
          </>
        ) : (
          <>
            {step === "enrol" && (
              <p>
                {t("login.enrol")}
                <br />
                {t("login.secret")}: <code data-testid="totp-secret">{secret}</code>
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
                autoFocus
                value={code}
                onChange={(e) => setCode(e.target.value.trim())}
              />
            </label>
          </>
        )}
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {step === "password" ? t("login.submit") : t("login.codeSubmit")}
        </button>
      </form>
    </main>
  );
}
