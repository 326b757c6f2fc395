import { lazy, Suspense, use, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { ApiProblem, onUnauthenticated, setCsrfToken } from "./api/client";
import { api, data, quiet401 } from "./api/typed";
import type { Lang } from "./format/time";
import { isLoaded, loadLanguage } from "./i18n/messages";
import { ForgotPasswordPage } from "./login/ForgotPasswordPage";
import { LoginPage } from "./login/LoginPage";
import { later } from "./login/later";
import { SetPasswordPage } from "./login/SetPasswordPage";
import { FORGOT_PASSWORD, NO_RETURN, providerLogoutUrl, RETURN_TO } from "./login/sso";
import {
  loadPrefs,
  makeUi,
  type Prefs,
  type Session,
  SessionContext,
  savePrefs,
  type Theme,
  type Ui,
  UiContext,
} from "./session/context";
import { ScreenBoundary } from "./ui/ErrorBoundary";
import { homePath } from "./ui/home";
import { navigate, usePath } from "./ui/router";

// What a logged-in person sees (header, live connection, every screen, Leaflet) is its own chunk:
// the login page loads none of it.
const Shell = lazy(() => import("./Shell").then((m) => ({ default: m.Shell })));

/**
 * Its children once the language's whole dictionary is here (main.tsx fetched only the gate texts):
 * until then the Suspense around it shows "loading", and a failed fetch reaches the boundary around
 * it, which offers a reload.
 */
function WholeDictionary(props: { lang: Lang; children: React.ReactNode }) {
  if (!isLoaded(props.lang)) use(loadLanguage(props.lang));
  return props.children;
}

type Boot = { kind: "loading" } | { kind: "login"; expired: boolean } | { kind: "in"; session: Session };

async function loadSession(): Promise<Session> {
  const me = await data(api.GET("/api/v1/auth/me", { middleware: [quiet401] }), later("meResponse"));
  if (me.stage !== "active") throw new ApiProblem(401, "second-factor", "second factor needed", null);
  const org = await data(api.GET("/api/v1/organisation"), later("organisation"));
  return { me, organisation: { id: org.id, name: org.name, timeZone: org.timeZone } };
}

/** Language and theme as this browser remembers them for the user, and the Ui made of them. */
function usePrefsUi(userId: string | null, timeZone: string): Ui {
  const [prefs, setPrefs] = useState(() => loadPrefs(null));
  // A language is shown only once its whole dictionary is here; the first fetch starts at once, while
  // the login page shows with its gate texts (main.tsx).
  const latestPrefs = useRef(0);
  const applyPrefs = useCallback((next: Prefs) => {
    const asked = ++latestPrefs.current;
    loadLanguage(next.lang).then(
      // Switching twice quickly: the last choice wins, whichever dictionary arrives first.
      () => asked === latestPrefs.current && setPrefs(next),
      (err: unknown) => console.error("dictionary not loaded", next.lang, err),
    );
  }, []);
  useEffect(() => {
    applyPrefs(loadPrefs(userId));
  }, [userId, applyPrefs]);
  useEffect(() => {
    document.documentElement.dataset.theme = prefs.theme;
    document.documentElement.lang = prefs.lang;
  }, [prefs]);

  return useMemo(
    () =>
      makeUi(
        prefs.lang,
        prefs.theme,
        timeZone,
        (lang: Lang) => {
          const next = { ...prefs, lang };
          savePrefs(userId, next);
          applyPrefs(next);
        },
        (theme: Theme) => {
          const next = { ...prefs, theme };
          savePrefs(userId, next);
          setPrefs(next);
        },
      ),
    [prefs, timeZone, userId, applyPrefs],
  );
}

/** Ends the session here (and at the single sign-on provider, when it says where), whatever the answer. */
async function logOut(setBoot: (boot: Boot) => void) {
  let providerLogout: string | null = null;
  try {
    // 204, or where to go to end the single sign-on provider's session too.
    providerLogout = providerLogoutUrl(await data(api.POST("/api/v1/auth/logout"), later("logoutAnswer")));
  } finally {
    setCsrfToken(null);
    sessionStorage.removeItem(RETURN_TO);
    setBoot({ kind: "login", expired: false });
    // The provider ends its session and sends the browser back to /login.
    if (providerLogout) location.assign(providerLogout);
    else navigate("/", true);
  }
}

/** The console: login, then the live map with the alarm queue, recipients and administration. */
export function App() {
  const [boot, setBoot] = useState<Boot>({ kind: "loading" });
  const userId = boot.kind === "in" ? boot.session.me.user.id : null;
  const ui = usePrefsUi(userId, boot.kind === "in" ? boot.session.organisation.timeZone : "Europe/Oslo");
  const path = usePath();

  // Leaving the logged-in state unmounts the shell, which closes the live connection.
  const expire = useCallback(() => {
    setCsrfToken(null);
    if (location.pathname !== "/login")
      sessionStorage.setItem(RETURN_TO, location.pathname + location.search);
    setBoot({ kind: "login", expired: true });
  }, []);

  useEffect(() => {
    loadSession()
      .then((session) => {
        // Already in (a reload, or back from single sign-on at the page asked for): nothing to return to.
        sessionStorage.removeItem(RETURN_TO);
        setBoot({ kind: "in", session });
        // The provider's logout or an old bookmark may land a logged-in person on /login.
        if (location.pathname === "/login" || location.pathname === FORGOT_PASSWORD) navigate("/", true);
      })
      .catch(() => {
        if (!NO_RETURN.has(location.pathname))
          sessionStorage.setItem(RETURN_TO, location.pathname + location.search);
        setBoot({ kind: "login", expired: false });
      });
  }, []);

  useEffect(() => onUnauthenticated(expire), [expire]);

  // "/" is the live map for those who may see it; everyone else starts where their work is.
  const home = boot.kind === "in" ? homePath(boot.session.me.permissions) : "/";
  useEffect(() => {
    if (path === "/" && home !== "/") navigate(home, true);
  }, [path, home]);

  const loggedIn = async () => {
    const session = await loadSession();
    setBoot({ kind: "in", session });
    const back = sessionStorage.getItem(RETURN_TO);
    sessionStorage.removeItem(RETURN_TO);
    navigate(back && back !== "/login" ? back : "/", true);
  };

  const logout = () => logOut(setBoot);

  let body: React.ReactNode;
  // Links from invitation and reset e-mails work whether or not someone is logged in here.
  if (path === "/invitation" || path === "/reset-password")
    body = <SetPasswordPage mode={path === "/invitation" ? "invitation" : "reset"} />;
  else if (path === FORGOT_PASSWORD && boot.kind !== "in") body = <ForgotPasswordPage />;
  else if (boot.kind === "loading") body = <p className="centered">{ui.t("common.loading")}</p>;
  else if (boot.kind === "login") body = <LoginPage expired={boot.expired} onLoggedIn={loggedIn} />;
  else
    body = (
      <SessionContext.Provider value={boot.session}>
        {/* The shell's own chunk may fail to load after a deploy: the boundary offers a reload. */}
        <ScreenBoundary resetKey="shell">
          <Suspense fallback={<p className="centered">{ui.t("common.loading")}</p>}>
            <WholeDictionary lang={ui.lang}>
              <Shell path={path} home={home} onLogout={logout} onSessionEnded={expire} />
            </WholeDictionary>
          </Suspense>
        </ScreenBoundary>
      </SessionContext.Provider>
    );
  return <UiContext.Provider value={ui}>{body}</UiContext.Provider>;
}
