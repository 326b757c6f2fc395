import { useState } from "react";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { later } from "./later";

/**
 * "Forgot your password": asks the API to e-mail a reset link. The API answers 202 whether or not
 * the address has an account, and so does this page: the same words for every address, so it
 * cannot be used to find out who works where.
 */
export function ForgotPasswordPage() {
  const { t } = useUi();
  const [email, setEmail] = useState("");
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const address = email.trim();
      await data(api.POST("/api/v1/auth/password-reset", { body: { email: address } }), later("anyAnswer"));
      setSentTo(address);
    } catch (err) {
      // Refusals (too many tries, an address the server cannot read) are the dictionary's words.
      setError(
        t("forgotPassword.failed", { message: err instanceof ApiProblem ? err.message : String(err) }),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form className="card login__form" aria-labelledby="forgot-password-title" onSubmit={submit}>
        <h1 id="forgot-password-title">{t("forgotPassword.title")}</h1>
        {sentTo !== null ? (
          <p role="status" data-testid="reset-requested">
            {t("forgotPassword.sent", { email: sentTo })}
          </p>
        ) : (
          <>
            <p>{t("forgotPassword.intro")}</p>
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
                onChange={(e) => setEmail(e.target.value)}
              />
            </label>
            {error && (
              <p className="error" role="alert">
                {error}
              </p>
            )}
            <button type="submit" className="primary" disabled={busy}>
              {t("forgotPassword.submit")}
            </button>
          </>
        )}
        <p>
          <Link to="/login">{t("forgotPassword.back")}</Link>
        </p>
      </form>
    </main>
  );
}
