import { loginSettings } from "@vakt/schemas";
import { useEffect, useState } from "react";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { errorText, routeMissing, useLoginSettings } from "./queries";
import { problemText } from "./sso-text";

/** Organisation-wide: may staff log in with a password, or only through single sign-on? */
export function LoginSettingsForm() {
  const { t } = useUi();
  const settings = useLoginSettings();
  const [allow, setAllow] = useState<boolean | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => {
    if (settings.data) setAllow(settings.data.localPasswordLogin);
  }, [settings.data]);
  if (routeMissing(settings.error)) return <p className="muted">{t("admin.notAvailable")}</p>;
  if (allow === null) return <p>{settings.error ? errorText(settings.error) : t("common.loading")}</p>;
  return (
    <form
      className="card"
      aria-label={t("sso.loginSettings")}
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          const body = loginSettings.parse({ localPasswordLogin: allow });
          const saved = await data(api.PUT("/api/v1/organisation/login-settings", { body }), loginSettings);
          setAllow(saved.localPasswordLogin);
          setMessage(t("common.saved"));
        } catch (err) {
          setMessage(problemText(err, t));
        }
      }}
    >
      <h2>{t("sso.loginSettings")}</h2>
      <label className="inline">
        <input
          type="checkbox"
          role="switch"
          aria-checked={allow}
          aria-describedby="password-login-help"
          checked={allow}
          onChange={(e) => setAllow(e.target.checked)}
        />
        {t("sso.allowPassword")}
      </label>
      <p id="password-login-help" className="muted small">
        {t("sso.allowPasswordHelp")}
      </p>
      <button type="submit" className="primary">
        {t("common.save")}
      </button>
      {message && <p role="status">{message}</p>}
    </form>
  );
}
