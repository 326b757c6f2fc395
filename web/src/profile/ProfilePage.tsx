import { type Profile, profile } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { DEFAULT_SOUND, REPEAT_CHOICES, type RepeatS, soundKey } from "../alarms/asked";
import { ApiProblem } from "../api/client";
import { api, data } from "../api/typed";
import { useSession, useUi } from "../session/context";
import { ProfileSecurity } from "./ProfileSecurity";

/** "My profile": the user's own phone number (SMS alerts) and alarm sound, kept on the server. */
export function ProfilePage() {
  const { t } = useUi();
  const session = useSession();
  const id = useId();
  const [p, setP] = useState<Profile | null>(null);
  const [phone, setPhone] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    data(api.GET("/api/v1/auth/profile"), profile)
      .then((loaded) => {
        setP(loaded);
        setPhone(loaded.phone ?? "");
      })
      .catch((e: unknown) => setMessage({ ok: false, text: String(e) }));
  }, []);

  const sound = p?.sound ?? DEFAULT_SOUND;
  const save = async (change: Partial<{ phone: string | null; sound: Profile["sound"] }>) => {
    setBusy(true);
    setMessage(null);
    try {
      const next = await data(api.PATCH("/api/v1/auth/profile", { body: change }), profile);
      setP(next);
      setPhone(next.phone ?? "");
      if (next.sound) localStorage.setItem(soundKey(session.me.user.id), JSON.stringify(next.sound));
      setMessage({ ok: true, text: t("profile.saved") });
    } catch (e) {
      const detail = e instanceof ApiProblem ? e.message : String(e);
      setMessage({ ok: false, text: t("common.error", { message: detail }) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="page" data-testid="profile-page">
      <h1>{t("profile.title")}</h1>
      {p === null && !message && <p className="muted">{t("common.loading")}</p>}
      {p && (
        <>
          <form
            className="card"
            onSubmit={(e) => {
              e.preventDefault();
              void save({ phone: phone.trim() ? phone.trim() : null });
            }}
          >
            <label htmlFor={`${id}-phone`}>{t("profile.phone")}</label>
            <input
              id={`${id}-phone`}
              name="phone"
              type="tel"
              autoComplete="tel"
              value={phone}
              aria-describedby={`${id}-hint`}
              onChange={(e) => setPhone(e.target.value)}
            />
            <p id={`${id}-hint`} className="muted small">
              {t("profile.phoneHint")}
            </p>
            <button type="submit" className="primary" disabled={busy}>
              {t("profile.save")}
            </button>
          </form>
          <fieldset className="card">
            <legend>{t("profile.sound")}</legend>
            <label className="inline">
              <input
                type="checkbox"
                checked={sound.newAlarms}
                disabled={busy}
                onChange={(e) => void save({ sound: { ...sound, newAlarms: e.target.checked } })}
              />
              {t("profile.newAlarms")}
            </label>
            <label className="inline">
              <input
                type="checkbox"
                checked={sound.asked}
                disabled={busy}
                onChange={(e) => void save({ sound: { ...sound, asked: e.target.checked } })}
              />
              {t("sound.asked")}
            </label>
            <label className="inline">
              {t("sound.repeat")}
              <select
                value={sound.repeatS}
                disabled={busy}
                onChange={(e) =>
                  void save({ sound: { ...sound, repeatS: Number(e.target.value) as RepeatS } })
                }
              >
                {REPEAT_CHOICES.map((n) => (
                  <option key={n} value={n}>
                    {t("sound.seconds", { n })}
                  </option>
                ))}
              </select>
            </label>
          </fieldset>
          <ProfileSecurity />
        </>
      )}
      {message && (
        <p className={message.ok ? "muted" : "error"} role={message.ok ? "status" : "alert"}>
          {message.text}
        </p>
      )}
    </main>
  );
}
