import { useEffect, useState } from "react";
import { type LiveStatus, subscribeLive } from "../api/live";
import { can, useSession, useUi } from "../session/context";
import { seesLiveView } from "./home";
import { Link } from "./router";

function ConnectionStatus() {
  const { t } = useUi();
  const [status, setStatus] = useState<LiveStatus>("connecting");
  useEffect(() => subscribeLive({ status: setStatus }), []);
  const text =
    status === "connected"
      ? t("live.connected")
      : status === "connecting"
        ? t("live.connecting")
        : t("live.disconnected");
  return (
    <span className={`status status--${status}`} role="status" data-testid="live-status" data-status={status}>
      {text}
    </span>
  );
}

/** Top bar: where to go, the live connection, language, theme and logout. */
export function Header(props: { onLogout: () => void }) {
  const ui = useUi();
  const session = useSession();
  const admin =
    can(session, "department:manage") ||
    can(session, "user:read") ||
    can(session, "device:read") ||
    can(session, "activity:read");
  return (
    <header className="topbar">
      <a className="skip" href="#queue">
        {ui.t("app.skipToQueue")}
      </a>
      <strong className="brand">{ui.t("app.name")}</strong>
      <span className="org">{session.organisation.name}</span>
      <nav aria-label="main">
        {seesLiveView(session.me.permissions) && <Link to="/">{ui.t("nav.live")}</Link>}
        {can(session, "alarm:read") && <Link to="/history">{ui.t("nav.history")}</Link>}
        {admin && <Link to="/admin">{ui.t("nav.admin")}</Link>}
        <Link to="/profile">{ui.t("profile.link")}</Link>
      </nav>
      <ConnectionStatus />
      <span className="spacer" />
      <label className="inline">
        <span className="sr-only">{ui.t("nav.language")}</span>
        <select value={ui.lang} onChange={(e) => ui.setLang(e.target.value === "en" ? "en" : "nb")}>
          <option value="nb" lang="nb">
            Norsk bokmål
          </option>
          <option value="en" lang="en">
            English
          </option>
        </select>
      </label>
      <button type="button" onClick={() => ui.setTheme(ui.theme === "dark" ? "light" : "dark")}>
        {ui.theme === "dark" ? ui.t("nav.theme.light") : ui.t("nav.theme.dark")}
      </button>
      <span className="user">
        {session.me.user.firstName} {session.me.user.lastName}
      </span>
      <button type="button" onClick={props.onLogout}>
        {ui.t("nav.logout")}
      </button>
    </header>
  );
}
