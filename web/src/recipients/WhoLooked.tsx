import { useQuery } from "@tanstack/react-query";
import { activityEntry } from "@vakt/schemas";
import { useId, useState } from "react";
import { z } from "zod";
import { api, data } from "../api/typed";
import { useUi } from "../session/context";
import { describeEntry, LOOKED_FILTERS, type LookedFilter, lookedRows } from "./looked";

const PAGE = 50;

/**
 * Who has looked at the recipient and what they saw, newest first, in sentences: everything the
 * log holds about them (the API's "who has looked at me", its newest thousand rows), filtered by
 * kind and period here, fifty at a time.
 */
export function WhoLooked(props: { recipientId: string; name: string; staff: ReadonlyMap<string, string> }) {
  const { t, dateTime } = useUi();
  const [kind, setKind] = useState<LookedFilter>("position");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [page, setPage] = useState(0);
  const activity = useQuery({
    queryKey: ["activity", "recipient", props.recipientId],
    queryFn: () =>
      data(
        api.GET("/api/v1/activity/recipients/{id}", { params: { path: { id: props.recipientId } } }),
        z.array(activityEntry),
      ),
  });
  const kept = lookedRows(activity.data ?? [], { kind, from, to });
  const rows = kept.slice(page * PAGE, (page + 1) * PAGE);
  const error = activity.error ? t("common.error", { message: activity.error.message }) : null;

  const restart = () => setPage(0);

  return (
    <section aria-labelledby="rec-activity" data-testid="who-looked">
      <h2 id="rec-activity">{t("looked.title", { name: props.name })}</h2>
      <p className="muted small">{t("looked.help")}</p>
      <LookedFilters
        kind={kind}
        from={from}
        to={to}
        onKind={(k) => {
          setKind(k);
          restart();
        }}
        onFrom={(f) => {
          setFrom(f);
          restart();
        }}
        onTo={(v) => {
          setTo(v);
          restart();
        }}
      />
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
        {page > 0 && (
          <button type="button" onClick={() => setPage((p) => p - 1)}>
            {t("looked.newer")}
          </button>
        )}
        {kept.length > (page + 1) * PAGE && (
          <button type="button" onClick={() => setPage((p) => p + 1)}>
            {t("looked.older")}
          </button>
        )}
      </div>
    </section>
  );
}

/** The kind of look and the period the list is filtered by. */
function LookedFilters(props: {
  kind: LookedFilter;
  from: string;
  to: string;
  onKind(kind: LookedFilter): void;
  onFrom(from: string): void;
  onTo(to: string): void;
}) {
  const { t } = useUi();
  const ids = { kind: useId(), from: useId(), to: useId() };
  return (
    <div className="form-row">
      <label htmlFor={ids.kind}>{t("looked.filter")}</label>
      <select id={ids.kind} value={props.kind} onChange={(e) => props.onKind(e.target.value as LookedFilter)}>
        {LOOKED_FILTERS.map((f) => (
          <option key={f} value={f}>
            {t(`looked.filter.${f || "all"}`)}
          </option>
        ))}
      </select>
      <label htmlFor={ids.from}>{t("looked.from")}</label>
      <input id={ids.from} type="date" value={props.from} onChange={(e) => props.onFrom(e.target.value)} />
      <label htmlFor={ids.to}>{t("looked.to")}</label>
      <input id={ids.to} type="date" value={props.to} onChange={(e) => props.onTo(e.target.value)} />
    </div>
  );
}
