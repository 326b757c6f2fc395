import { useMutation, useQuery } from "@tanstack/react-query";
import { type CallResult, callResult, recipientContact } from "@vakt/schemas";
import { useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import type { MessageKey } from "../i18n/dict";
import { useUi } from "../session/context";

/** The recipient's call list: the contacts section changes it under the same key. */
export const contactsKey = (recipientId: string) => ["recipients", recipientId, "contacts"] as const;

/**
 * The recipient's call list, first in the alarm panel: who to phone, in order,
 * with a tel: link and a way to log how each call went into the alarm's history.
 */
export function CallList(props: { alarmId: string; recipientId: string; onLogged(): void }) {
  const { t } = useUi();
  const contactsQuery = useQuery({
    queryKey: contactsKey(props.recipientId),
    queryFn: () =>
      data(
        api.GET("/api/v1/recipients/{id}/contacts", { params: { path: { id: props.recipientId } } }),
        z.array(recipientContact),
      ),
  });
  const contacts = contactsQuery.data ?? null;
  const callLog = useCallLog(props.alarmId, props.onLogged);
  const { open, setOpen, logCall } = callLog;
  const error = logCall.error
    ? t("common.error", { message: logCall.error.message })
    : contactsQuery.error
      ? contactsQuery.error.message
      : null;

  return (
    <section className="call-list" data-testid="call-list" aria-labelledby={`calls-${props.alarmId}`}>
      <h3 id={`calls-${props.alarmId}`}>{t("call.title")}</h3>
      {contacts === null && !error && <p className="muted">{t("common.loading")}</p>}
      {contacts?.length === 0 && <p className="muted">{t("call.none")}</p>}
      {contacts && contacts.length > 0 && (
        <ol>
          {contacts.map((c) => (
            <li key={c.id} data-testid="call-contact">
              <a href={`tel:${c.phone}`} className="call-link">
                {c.name}
              </a>{" "}
              · {t(`contact.relation.${c.relation}`)} · <a href={`tel:${c.phone}`}>{c.phone}</a>
              {c.availability && ` · ${t("call.when", { when: c.availability })}`}
              {c.notes && <div className="muted">{c.notes}</div>}
              {open === c.id ? (
                <CallLogForm contactId={c.id} callLog={callLog} />
              ) : (
                <button
                  type="button"
                  aria-label={t("call.logFor", { name: c.name })}
                  onClick={() => setOpen(c.id)}
                >
                  {t("call.log")}
                </button>
              )}
            </li>
          ))}
        </ol>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

/** Which contact's call is being logged, how it went, and the post into the alarm's history. */
function useCallLog(alarmId: string, onLogged: () => void) {
  const [open, setOpen] = useState<string | null>(null);
  const [result, setResult] = useState<CallResult>("reached");
  const [note, setNote] = useState("");
  const logCall = useMutation({
    mutationFn: (contactId: string) =>
      data(
        api.POST("/api/v1/alarms/{id}/calls", {
          params: { path: { id: alarmId } },
          body: { contactId, result, ...(note.trim() ? { note: note.trim() } : {}) },
        }),
        z.unknown(),
      ),
    onSuccess: () => {
      setOpen(null);
      setNote("");
      setResult("reached");
      onLogged();
    },
  });
  return { open, setOpen, result, setResult, note, setNote, logCall };
}

/** How the call to one contact went, and a note. */
function CallLogForm({ contactId, callLog }: { contactId: string; callLog: ReturnType<typeof useCallLog> }) {
  const { t } = useUi();
  const { result, setResult, note, setNote, logCall, setOpen } = callLog;
  const busy = logCall.isPending;
  return (
    <div className="call-log">
      <label>
        {t("call.result")}
        <select value={result} onChange={(e) => setResult(e.target.value as CallResult)}>
          {callResult.options.map((r) => (
            <option key={r} value={r}>
              {t(`call.result.${r}`)}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("call.note")}
        <input value={note} maxLength={4000} onChange={(e) => setNote(e.target.value)} />
      </label>
      <button type="button" className="primary" disabled={busy} onClick={() => logCall.mutate(contactId)}>
        {t("call.save")}
      </button>
      <button type="button" disabled={busy} onClick={() => setOpen(null)}>
        {t("call.close")}
      </button>
    </div>
  );
}

/** What a 'called' transition says after its kind: whom (when the caller may see the list) and how it went. */
export function calledText(t: (key: MessageKey) => string, details: Record<string, unknown>): string {
  const who =
    typeof details.contactName === "string"
      ? ` ${details.contactName}${typeof details.contactPhone === "string" ? ` (${details.contactPhone})` : ""}`
      : "";
  const r = callResult.safeParse(details.result);
  return `${who}${r.success ? ` – ${t(`call.result.${r.data}`)}` : ""}`;
}
