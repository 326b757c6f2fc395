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
  const [open, setOpen] = useState<string | null>(null);
  const [result, setResult] = useState<CallResult>("reached");
  const [note, setNote] = useState("");
  const contactsQuery = useQuery({
    queryKey: contactsKey(props.recipientId),
    queryFn: () =>
      data(
        api.GET("/api/v1/recipients/{id}/contacts", { params: { path: { id: props.recipientId } } }),
        z.array(recipientContact),
      ),
  });
  const contacts = contactsQuery.data ?? null;
  const logCall = useMutation({
    mutationFn: (contactId: string) =>
      data(
        api.POST("/api/v1/alarms/{id}/calls", {
          params: { path: { id: props.alarmId } },
          body: { contactId, result, ...(note.trim() ? { note: note.trim() } : {}) },
        }),
        z.unknown(),
      ),
    onSuccess: () => {
      setOpen(null);
      setNote("");
      setResult("reached");
      props.onLogged();
    },
  });
  const busy = logCall.isPending;
  const log = (contactId: string) => logCall.mutate(contactId);
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
                  <button type="button" className="primary" disabled={busy} onClick={() => log(c.id)}>
                    {t("call.save")}
                  </button>
                  <button type="button" disabled={busy} onClick={() => setOpen(null)}>
                    {t("call.close")}
                  </button>
                </div>
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

/** What a 'called' transition says after its kind: whom (when the caller may see the list) and how it went. */
export function calledText(t: (key: MessageKey) => string, details: Record<string, unknown>): string {
  const who =
    typeof details.contactName === "string"
      ? ` ${details.contactName}${typeof details.contactPhone === "string" ? ` (${details.contactPhone})` : ""}`
      : "";
  const r = callResult.safeParse(details.result);
  return `${who}${r.success ? ` – ${t(`call.result.${r.data}`)}` : ""}`;
}
