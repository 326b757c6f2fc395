/**
 * Both dictionaries at once, for tests and tools (the e2e crawl compares them). The console never
 * imports this at run time: it fetches only the user's language through messages.ts. Screens take
 * the MessageKey type from here or from messages.ts.
 */
import { en } from "./dict-en";
import { nb } from "./dict-nb";
import { registerDictionary } from "./messages";

export type { MessageKey } from "./dict-en";
export { interpolate, placeholders, translate } from "./messages";
export { en, nb };

export const dictionaries = { en, nb } as const;

registerDictionary("en", en);
registerDictionary("nb", nb);
