import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadGate } from "./i18n/messages";
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

/** How long the first screen may stay empty while the dictionary is fetched before a reload is offered. */
const DICTIONARY_PATIENCE_MS = 10_000;

const element = document.getElementById("root");
// Only the user's language's gate texts (those before login) are fetched before anything is drawn. A fetch
// that never ends (a network that stalls) must not leave a blank page: after a while a reload is
// offered, and the console still replaces it if the dictionary arrives after all.
if (element) {
  const root = createRoot(element);
  let started = false;
  const slow = setTimeout(() => {
    if (!started) {
      console.error(`dictionary not loaded within ${DICTIONARY_PATIENCE_MS} ms`);
      root.render(<NoDictionary />);
    }
  }, DICTIONARY_PATIENCE_MS);
  loadGate(loadPrefs(null).lang).then(
    () => {
      started = true;
      clearTimeout(slow);
      root.render(<App />);
    },
    (err: unknown) => {
      clearTimeout(slow);
      console.error("dictionary not loaded", err);
      root.render(<NoDictionary />);
    },
  );
}
