import { type ActivityEntry, activityEntry } from "@vakt/schemas";
import { useEffect, useId, useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { describeEntry, LOOKED_FILTERS, type LookedFilter } from "./looked";

const PAGE = 50;

/**
 * Who has looked at the recipient and what they saw, newest first, in
 * sentences; filtered by kind and period, fifty at a time.
 */
export function WhoLooked(props: { recipientId: string; name: string; staff: ReadonlyMap<string, string> }) {
  const { t, dateTime } = useUi();
  const ids = { kind: useId(), from: useId(), to: useId() };
  const [kind, setKind] = useState<LookedFilter>("position");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  /** `beforeSeq` of each page shown so far (undefined: the newest). */
  const [pages, setPages] = useState<(number | undefined)[]>([undefined]);
  const [rows, setRows] = useState<ActivityEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  const beforeSeq = pages[pages.length - 1];

  useEffect(() => {
    data(
      api.GET("/api/v1/activity", {
        params: {
          query: {
            recipientId: props.recipientId,
            action: kind || undefined,
            from: from ? new Date(`${from}T00:00:00`).toISOString() : undefined,
            to: to ? new Date(`${to}T23:59:59.999`).toISOString() : undefined,
            limit: PAGE,
            beforeSeq,
          },
        },
      }),
      z.array(activityEntry),
    )
      .then((r) => {
        setRows(r);
        setError(null);
      })
      .catch((e: unknown) =>
        setError(t("common.error", { message: e instanceof Error ? e.message : String(e) })),
      );
  }, [props.recipientId, kind, from, to, beforeSeq, t]);

  const restart = () => setPages([undefined]);
  const last = rows[rows.length - 1];

  return (
    <section aria-labelledby="rec-activity" data-testid="who-looked">
      <h2 id="rec-activity">{t("looked.title", { name: props.name })}</h2>
      <p className="muted small">{t("looked.help")}</p>
      <div className="form-row">
        <label htmlFor={ids.kind}>{t("looked.filter")}</label>
        <select
          id={ids.kind}
          value={kind}
          onChange={(e) => {
            setKind(e.target.value as LookedFilter);
            restart();
          }}
        >
          {LOOKED_FILTERS.map((f) => (
            <option key={f} value={f}>
              {t(`looked.filter.${f || "all"}`)}
            </option>
          ))}
        </select>
        <label htmlFor={ids.from}>{t("looked.from")}</label>
        <input
          id={ids.from}
          type="date"
          value={from}
          onChange={(e) => {
            setFrom(e.target.value);
            restart();
          }}
        />
        <label htmlFor={ids.to}>{t("looked.to")}</label>
        <input
          id={ids.to}
          type="date"
          value={to}
          onChange={(e) => {
            setTo(e.target.value);
            restart();
          }}
        />
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {rows.length === 0 ? (
        <p className="muted">{t("looked.none")}</p>
      ) : (
        <ol className="looked" data-testid="looked-list">
          {rows.map((e) => (
            <li key={e.id} data-action={e.action}>
              <time dateTime={e.at}>{dateTime(e.at)}</time>: {describeEntry(e, props.name, props.staff, t)}
              {e.reason && (
                <span className="looked__reason"> {t("looked.reason", { reason: e.reason })}</span>
              )}
            </li>
          ))}
        </ol>
      )}
      <div className="buttons">
        {pages.length > 1 && (
          <button type="button" onClick={() => setPages((p) => p.slice(0, -1))}>
            {t("looked.newer")}
          </button>
        )}
        {rows.length === PAGE && last && (
          <button type="button" onClick={() => setPages((p) => [...p, last.seq])}>
            {t("looked.older")}
          </button>
        )}
      </div>
    </section>
  );
}
