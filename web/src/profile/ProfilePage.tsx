import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type Profile, profile } from "@vakt/schemas";
import { useId, useState } from "react";
import { DEFAULT_SOUND, REPEAT_CHOICES, type RepeatS, soundKey } from "../alarms/asked";
import { api, data } from "../api/typed";
import { liveKeys } from "../live-data";
import { useSession, useUi } from "../session/context";
import { ProfileSecurity } from "./ProfileSecurity";

type Change = Partial<{ phone: string | null; sound: Profile["sound"] }>;

/** "My profile": the user's own phone number (SMS alerts) and alarm sound, kept on the server. */
export function ProfilePage() {
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  const id = useId();
  // The live view reads the sound under the same key.
  const loaded = useQuery({
    queryKey: liveKeys.profile,
    queryFn: () => data(api.GET("/api/v1/auth/profile"), profile),
  });
  const p = loaded.data ?? null;
  /** The phone as typed; null until edited (the stored one is shown). */
  const [typed, setTyped] = useState<string | null>(null);
  const phone = typed ?? p?.phone ?? "";
  const setPhone = setTyped;
  const saving = useMutation({
    mutationFn: (change: Change) => data(api.PATCH("/api/v1/auth/profile", { body: change }), profile),
    onSuccess: (next) => {
      client.setQueryData(liveKeys.profile, next);
      setTyped(null);
      if (next.sound) localStorage.setItem(soundKey(session.me.user.id), JSON.stringify(next.sound));
    },
  });
  const busy = saving.isPending;
  const save = (change: Change) => saving.mutate(change);
  const failure = saving.error ?? loaded.error;
  const message = saving.isSuccess
    ? { ok: true, text: t("profile.saved") }
    : failure
      ? { ok: false, text: t("common.error", { message: failure.message }) }
      : null;
  const sound = p?.sound ?? DEFAULT_SOUND;

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
          <SoundSettings sound={sound} busy={busy} save={save} />
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

/** The alarm sound: for new alarms, for those the user is asked to take, and how often it repeats. */
function SoundSettings({
  sound,
  busy,
  save,
}: {
  sound: NonNullable<Profile["sound"]>;
  busy: boolean;
  save(change: Change): void;
}) {
  const { t } = useUi();
  return (
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
          onChange={(e) => void save({ sound: { ...sound, repeatS: Number(e.target.value) as RepeatS } })}
        >
          {REPEAT_CHOICES.map((n) => (
            <option key={n} value={n}>
              {t("sound.seconds", { n })}
            </option>
          ))}
        </select>
      </label>
    </fieldset>
  );
}
