/** The console once logged in: header, live connection and the screen for the path. */
import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect } from "react";
import { isActive } from "./alarms/queue";
import { connectLive, disconnectLive, subscribeLive } from "./api/live";
import { QueryProvider } from "./api/query";
import { liveKeys } from "./live-data";
import { useUi } from "./session/context";
import { ScreenBoundary } from "./ui/ErrorBoundary";
import { Flash } from "./ui/flash";
import { Header } from "./ui/Header";
import { RecipientGate } from "./ui/RecipientGate";
import { match } from "./ui/router";

// Every screen is its own chunk, the live view (Leaflet) too.
const LiveView = lazy(() => import("./LiveView").then((m) => ({ default: m.LiveView })));
const RecipientPage = lazy(() =>
  import("./recipients/RecipientPage").then((m) => ({ default: m.RecipientPage })),
);
const AdminPage = lazy(() => import("./admin/AdminPage").then((m) => ({ default: m.AdminPage })));
const HistoryPage = lazy(() => import("./alarms/HistoryPage").then((m) => ({ default: m.HistoryPage })));
const ProfilePage = lazy(() => import("./profile/ProfilePage").then((m) => ({ default: m.ProfilePage })));

/**
 * Socket events that concern every screen, not only the live view: an alarm's detail (its panel,
 * its history timeline) and the closed-alarm history go stale with each event, and after a lost
 * connection whatever is on screen may have missed something.
 */
function LiveCacheEvents() {
  const client = useQueryClient();
  useEffect(
    () =>
      subscribeLive({
        alarm: (a) => {
          void client.invalidateQueries({ queryKey: liveKeys.alarm(a.id) });
          if (!isActive(a)) void client.invalidateQueries({ queryKey: ["alarms", "history"] });
        },
        connected: (reconnect) => {
          if (reconnect) void client.invalidateQueries();
        },
      }),
    [client],
  );
  return null;
}

export function Shell(props: {
  path: string;
  home: string;
  onLogout: () => void;
  onSessionEnded: () => void;
}) {
  const { t } = useUi();
  const { path, home, onSessionEnded } = props;

  useEffect(() => {
    connectLive();
    const off = subscribeLive({ sessionEnded: onSessionEnded });
    return () => {
      off();
      disconnectLive();
    };
  }, [onSessionEnded]);

  const recipient = match("/recipients/:id", path);
  const admin = match("/admin/:section", path) ?? (path === "/admin" ? { section: "" } : null);
  return (
    <QueryProvider>
      <LiveCacheEvents />
      <div className="shell">
        <Header onLogout={props.onLogout} />
        <Flash />
        <ScreenBoundary resetKey={path}>
          <Suspense fallback={<p className="centered">{t("common.loading")}</p>}>
            {recipient?.id ? (
              <RecipientGate key={recipient.id} id={recipient.id}>
                <RecipientPage id={recipient.id} />
              </RecipientGate>
            ) : admin ? (
              <AdminPage section={admin.section ?? ""} />
            ) : path === "/history" ? (
              <HistoryPage />
            ) : path === "/profile" ? (
              <ProfilePage />
            ) : home === "/" ? (
              <LiveView />
            ) : null}
          </Suspense>
        </ScreenBoundary>
      </div>
    </QueryProvider>
  );
}
