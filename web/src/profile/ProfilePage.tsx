import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type Profile, profile } from "@vakt/schemas";
import { useId } from "react";
import { useForm } from "react-hook-form";
import { DEFAULT_SOUND, REPEAT_CHOICES, type RepeatS, soundKey } from "../alarms/asked";
import { api, data } from "../api/typed";
import { liveKeys } from "../live-data";
import { useSession, useUi } from "../session/context";
import { ProfileSecurity } from "./ProfileSecurity";
import { type PhoneChange, type PhoneFormInput, phoneForm } from "./phone-form";

type Change = Partial<{ phone: string | null; sound: Profile["sound"] }>;
type Save = (change: Change, onSaved?: (saved: Profile) => void) => void;

/** "My profile": the user's own phone number (SMS alerts) and alarm sound, kept on the server. */
export function ProfilePage() {
  const { t } = useUi();
  const session = useSession();
  const client = useQueryClient();
  // The live view reads the sound under the same key.
  const loaded = useQuery({
    queryKey: liveKeys.profile,
    queryFn: () => data(api.GET("/api/v1/auth/profile"), profile),
  });
  const p = loaded.data ?? null;
  const saving = useMutation({
    mutationFn: (change: Change) => data(api.PATCH("/api/v1/auth/profile", { body: change }), profile),
    onSuccess: (next) => {
      client.setQueryData(liveKeys.profile, next);
      if (next.sound) localStorage.setItem(soundKey(session.me.user.id), JSON.stringify(next.sound));
    },
  });
  const busy = saving.isPending;
  const save: Save = (change, onSaved) => saving.mutate(change, { onSuccess: onSaved });
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
          <PhoneForm stored={p.phone} busy={busy} save={save} />
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

/** The user's own phone number: refused under the field in words, shown as stored (E.164) once saved. */
function PhoneForm(props: { stored: string | null; busy: boolean; save: Save }) {
  const { t } = useUi();
  const id = useId();
  const form = useForm<PhoneFormInput, unknown, PhoneChange>({
    resolver: zodResolver(phoneForm),
    defaultValues: { phone: props.stored ?? "" },
  });
  const error = form.formState.errors.phone;
  return (
    <form
      className="card"
      noValidate
      onSubmit={form.handleSubmit((change) =>
        props.save(change, (saved) => form.reset({ phone: saved.phone ?? "" })),
      )}
    >
      <label htmlFor={`${id}-phone`}>{t("profile.phone")}</label>
      <input
        id={`${id}-phone`}
        type="tel"
        autoComplete="tel"
        {...form.register("phone")}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-hint ${id}-error` : `${id}-hint`}
      />
      <p id={`${id}-hint`} className="muted small">
        {t("profile.phoneHint")}
      </p>
      {error && (
        <p id={`${id}-error`} className="error small" role="alert">
          {t("profile.error.phone")}
        </p>
      )}
      <button type="submit" className="primary" disabled={props.busy}>
        {t("profile.save")}
      </button>
    </form>
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
  save: Save;
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
