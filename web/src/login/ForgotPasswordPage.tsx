import { useId, useState } from "react";
import { useForm } from "react-hook-form";
import { FieldError, invalidProps } from "../admin/FieldError";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { Link } from "../ui/router";
import { later } from "./later";
import { laterResolver } from "./later-resolver";

/**
 * "Forgot your password": asks the API to e-mail a reset link. The API answers 202 whether or not
 * the address has an account, and so does this page: the same words for every address, so it
 * cannot be used to find out who works where.
 */
export function ForgotPasswordPage() {
  const { t } = useUi();
  const id = useId();
  const form = useForm<{ email: string }>({
    resolver: laterResolver("forgotPassword"),
    defaultValues: { email: "" },
  });
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const errors = form.formState.errors;

  const submit = form.handleSubmit(async ({ email }) => {
    setError(null);
    try {
      await data(api.POST("/api/v1/auth/password-reset", { body: { email } }), later("anyAnswer"));
      setSentTo(email);
    } catch (err) {
      // Refusals (too many tries, an address the server cannot read) are the dictionary's words.
      setError(
        t("forgotPassword.failed", { message: err instanceof ApiProblem ? err.message : String(err) }),
      );
    }
  });

  return (
    <main className="login">
      <form className="card login__form" aria-labelledby="forgot-password-title" noValidate onSubmit={submit}>
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
                autoComplete="username"
                required
                // biome-ignore lint/a11y/noAutofocus: the page's one task; focus where the user types next
                autoFocus
                {...form.register("email")}
                {...invalidProps(id, errors, "email")}
              />
            </label>
            <FieldError formId={id} errors={errors} field="email" text={() => t("login.error.email")} />
            {(error || errors.root) && (
              <p className="error" role="alert">
                {error ?? t("problem.network")}
              </p>
            )}
            <button type="submit" className="primary" disabled={form.formState.isSubmitting}>
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
