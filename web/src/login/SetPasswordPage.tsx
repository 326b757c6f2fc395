import { useState } from "react";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { navigate } from "../ui/router";
import { later } from "./later";

/** Where the e-mailed links land: `/invitation#token=…` and `/reset-password#token=…`. */
export type SetPasswordMode = "invitation" | "reset";

/** The token travels in the fragment, so it never reaches a server log or a Referer header. */
export function tokenFromHash(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("token");
  return token && /^[A-Za-z0-9_.~-]{20,200}$/.test(token) ? token : null;
}

/**
 * Choose a password with an invitation or reset token, then go to the login. The password rule is
 * the shared schema's, fetched on submit with the login path's answers (this page carries no zod).
 */
export function SetPasswordPage(props: { mode: SetPasswordMode }) {
  const { t } = useUi();
  const [token] = useState(() => tokenFromHash(location.hash));
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(null);
    if (!token) return; // the form is not shown without one
    try {
      const valid = (await later("password")()).safeParse(password);
      if (!valid.success) return setError(t("setPassword.tooShort"));
      if (password !== repeat) return setError(t("setPassword.mismatch"));
      const body = { token, password };
      await data(
        props.mode === "invitation"
          ? api.POST("/api/v1/auth/invitations/accept", { body })
          : api.POST("/api/v1/auth/password-reset/confirm", { body }),
        later("anyAnswer"),
      );
      history.replaceState(null, "", location.pathname); // drop the spent token from the address bar
      setDone(true);
    } catch (err) {
      setError(
        weakPassword(err)
          ? t("setPassword.weak")
          : t("login.failed", { message: err instanceof Error ? err.message : String(err) }),
      );
    }
  };

  return (
    <main className="login">
      <form className="card login__form" aria-labelledby="set-password-title" onSubmit={submit}>
        <h1 id="set-password-title">
          {props.mode === "invitation" ? t("setPassword.invitationTitle") : t("setPassword.resetTitle")}
        </h1>
        {!token ? (
          <p className="error">{t("setPassword.noToken")}</p>
        ) : done ? (
          <>
            <p role="status">{t("setPassword.done")}</p>
            <button type="button" className="primary" onClick={() => navigate("/", true)}>
              {t("login.submit")}
            </button>
          </>
        ) : (
          <NewPasswordFields
            password={password}
            setPassword={setPassword}
            repeat={repeat}
            setRepeat={setRepeat}
            error={error}
          />
        )}
      </form>
    </main>
  );
}

/** The server names the field it refused; its English reason is not shown. */
function weakPassword(err: unknown): boolean {
  return (
    err instanceof ApiProblem &&
    err.code === "validation-failed" &&
    JSON.stringify((err.body as { errors?: unknown } | null)?.errors ?? []).includes('"password"')
  );
}

/** The new password twice, what was wrong with it, and save. */
function NewPasswordFields(props: {
  password: string;
  setPassword(password: string): void;
  repeat: string;
  setRepeat(repeat: string): void;
  error: string | null;
}) {
  const { t } = useUi();
  return (
    <>
      <label>
        {t("setPassword.new")}
        <input
          type="password"
          name="new-password"
          autoComplete="new-password"
          required
          // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
          autoFocus
          value={props.password}
          onChange={(e) => props.setPassword(e.target.value)}
        />
      </label>
      <label>
        {t("setPassword.repeat")}
        <input
          type="password"
          name="repeat-password"
          autoComplete="new-password"
          required
          value={props.repeat}
          onChange={(e) => props.setRepeat(e.target.value)}
        />
      </label>
      {props.error && (
        <p className="error" role="alert">
          {props.error}
        </p>
      )}
      <button type="submit" className="primary">
        {t("common.save")}
      </button>
    </>
  );
}
