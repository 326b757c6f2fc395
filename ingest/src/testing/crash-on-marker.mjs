// Test-only preload (NODE_OPTIONS=--import): the ingest child dies with SIGKILL the moment it parses
// a payload holding VAKT_TEST_CRASH_MARKER, as a crash while handling that message would. Production
// code has no hook for this; the redelivery-limit test loads it into the real process.
const marker = process.env.VAKT_TEST_CRASH_MARKER;
const parse = JSON.parse;
JSON.parse = function parseOrDie(text, reviver) {
  if (marker && typeof text === "string" && text.includes(marker)) process.kill(process.pid, "SIGKILL");
  return parse.call(this, text, reviver);
};
