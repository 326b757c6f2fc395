import type { SessionStage, SsoDiscoveryResponse } from "@vakt/schemas";
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { type UseFormReturn, useForm } from "react-hook-form";
import { FieldError, invalidProps } from "../admin/FieldError";
import { ApiProblem, setCsrfToken } from "../api/client";
import { api, data, quiet401 } from "../api/typed";
import type { MessageKey } from "../i18n/messages";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { later } from "./later";
import { laterResolver } from "./later-resolver";
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

/** What the login form holds; a step's schema checks only its own fields. */
type LoginFields = { email: string; password: string; code: string };

/** Sends a step's form and keeps the CSRF token; the stage the session is at after it. */
async function sendStep(step: Step, form: LoginFields): Promise<SessionStage> {
  if (step === "enrol") {
    const r = await data(
      api.POST("/api/v1/auth/totp/enable", { body: { code: form.code }, middleware: [quiet401] }),
      later("totpEnabled"),
    );
    if (r.session) setCsrfToken(r.session.csrfToken);
    return "active";
  }
  // A refused password or code is this form's answer, not a session that ended (quiet401).
  const r = await data(
    step === "password"
      ? api.POST("/api/v1/auth/login", {
          body: { email: form.email, password: form.password },
          middleware: [quiet401],
        })
      : api.POST("/api/v1/auth/second-factor", { body: { code: form.code }, middleware: [quiet401] }),
    later("loginResponse"),
  );
  setCsrfToken(r.csrfToken);
  return r.stage;
}

/** What to say under a field its step's schema refused, in the console's words (never zod's English). */
const LOGIN_FIELD_ERROR = {
  email: "login.error.email",
  password: "login.error.password",
  code: "login.error.code",
} as const satisfies Record<keyof LoginFields, MessageKey>;

/**
 * E-mail first: single sign-on buttons for the address's domain, or the
 * password, then the TOTP code (or enrolment when the organisation requires one).
 */
export function LoginPage(props: { expired: boolean; onLoggedIn: () => Promise<void> }) {
  const { t } = useUi();
  const id = useId();
  const [step, setStep] = useState<Step>("password");
  const form = useForm<LoginFields>({
    resolver: laterResolver(step === "password" ? "passwordStep" : "codeStep"),
    defaultValues: { email: "", password: "", code: "" },
  });
  const [secret, setSecret] = useState<string | null>(null);
  const ssoError = useSsoError();
  const [error, setError] = useState<string | null>(() => (ssoError.key ? t(ssoError.key) : null));
  const email = form.watch("email");
  const sso = useSsoProviders(email);
  const errors = form.formState.errors;

  const after = async (stage: SessionStage) => {
    if (stage === "active") return props.onLoggedIn();
    if (stage === "second_factor_required") return setStep("code");
    const setup = await data(api.POST("/api/v1/auth/totp/setup"), later("totpSetupResponse"));
    setSecret(setup.secret);
    setStep("enrol");
  };

  const submit = form.handleSubmit(async (values) => {
    setError(null);
    try {
      await after(await sendStep(step, values));
    } catch (err) {
      if (isSsoRequired(err)) {
        setError(t("login.ssoRequired"));
        void sso.discover(email);
      } else setError(failureText(t, err, step));
    }
  });
  const fieldError = (field: keyof LoginFields) => (
    <FieldError formId={id} errors={errors} field={field} text={(f) => t(LOGIN_FIELD_ERROR[f])} />
  );

  return (
    <main className="login">
      <form className="card login__form" aria-labelledby="login-title" noValidate onSubmit={submit}>
        <h1 id="login-title">{t("login.title")}</h1>
        {props.expired && (
          <p className="notice" role="status">
            {t("login.expired")}
          </p>
        )}
        {step === "password" ? (
          <PasswordFields form={form} formId={id} fieldError={fieldError} sso={sso} />
        ) : (
          <CodeFields
            enrolSecret={step === "enrol" ? secret : undefined}
            form={form}
            formId={id}
            fieldError={fieldError}
          />
        )}
        {(error || errors.root) && (
          <p className="error" role="alert">
            {error ?? t("problem.network")}
          </p>
        )}
        <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
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

/** The form's parts a step's fields need. */
type StepFieldsProps = {
  form: UseFormReturn<LoginFields>;
  formId: string;
  fieldError(field: keyof LoginFields): React.ReactNode;
};

/** The e-mail, the single sign-on buttons for its domain, and the password. */
function PasswordFields(props: StepFieldsProps & { sso: ReturnType<typeof useSsoProviders> }) {
  const { t } = useUi();
  const { form, formId, sso } = props;
  const errors = form.formState.errors;
  const startSso = (providerId: string) => {
    location.assign(ssoStartUrl(providerId, sessionStorage.getItem(RETURN_TO)));
  };
  const email = form.register("email");
  return (
    <>
      <label>
        {t("login.email")}
        <input
          type="email"
          autoComplete="username"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          {...email}
          onBlur={(e) => {
            void email.onBlur(e);
            void sso.discover(e.target.value);
          }}
          {...invalidProps(formId, errors, "email")}
        />
      </label>
      {props.fieldError("email")}
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
          autoComplete="current-password"
          required
          {...form.register("password")}
          {...invalidProps(formId, errors, "password")}
        />
      </label>
      {props.fieldError("password")}
    </>
  );
}

/** The authenticator's code; when enrolling (enrolSecret not undefined), the secret to add to the app first. */
function CodeFields(props: StepFieldsProps & { enrolSecret: string | null | undefined }) {
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
          inputMode="numeric"
          autoComplete="one-time-code"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          {...props.form.register("code")}
          {...invalidProps(props.formId, props.form.formState.errors, "code")}
        />
      </label>
      {props.fieldError("code")}
    </>
  );
}
