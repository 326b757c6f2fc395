import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadLanguage } from "./i18n/messages";
import { loadPrefs } from "./session/context";
import "./styles.css";

/** Shown only when the dictionary itself could not be fetched, so it cannot come from one. */
function NoDictionary() {
  return (
    <main className="centered" role="alert">
      <p>
        <span lang="nb">Vakt kunne ikke lastes.</span> <span lang="en">Vakt could not load.</span>
      </p>
      <button type="button" className="primary" onClick={() => location.reload()}>
        <span lang="nb">Last inn på nytt</span> · <span lang="en">Reload</span>
      </button>
    </main>
  );
}

const root = document.getElementById("root");
// Only the user's language is fetched (the one App starts in), before anything is drawn.
if (root)
  loadLanguage(loadPrefs(null).lang).then(
    () => createRoot(root).render(<App />),
    (err: unknown) => {
      console.error("dictionary not loaded", err);
      createRoot(root).render(<NoDictionary />);
    },
  );
