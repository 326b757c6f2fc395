/**
 * The user's alarm sound settings: kept on the server (their profile), with this browser's copy as
 * the fallback while the server cannot be read, and moved there if they were made here before.
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type Profile, profile } from "@vakt/schemas";
import { useCallback, useEffect, useRef, useState } from "react";
import { api, data } from "../api/typed";
import { liveKeys } from "../live-data";
import { LEGACY_SOUND_KEY, parseSoundPrefs, type SoundPrefs, soundKey } from "./asked";

export function useSoundPrefs(userId: string): [SoundPrefs, (next: SoundPrefs) => void] {
  const client = useQueryClient();
  const [sound, setSound] = useState<SoundPrefs>(() =>
    parseSoundPrefs(localStorage.getItem(soundKey(userId)), localStorage.getItem(LEGACY_SOUND_KEY)),
  );
  const save = useMutation({
    mutationFn: (next: SoundPrefs) =>
      data(api.PATCH("/api/v1/auth/profile", { body: { sound: next } }), profile),
    onSuccess: (p) => client.setQueryData<Profile>(liveKeys.profile, p),
  });
  // Read afresh on every visit: the sound is adopted once, from the answer (not from the cache).
  const profileQuery = useQuery({
    queryKey: liveKeys.profile,
    refetchOnMount: "always",
    queryFn: () => data(api.GET("/api/v1/auth/profile"), profile),
  });
  const fromServer = profileQuery.isFetchedAfterMount ? profileQuery.data : undefined;
  const adopted = useRef(false);
  useEffect(() => {
    if (!fromServer || adopted.current) return;
    adopted.current = true;
    if (fromServer.sound) {
      setSound(fromServer.sound);
      localStorage.setItem(soundKey(userId), JSON.stringify(fromServer.sound));
    } else if (localStorage.getItem(soundKey(userId)))
      // Settings made in this browser before they were kept on the server move there.
      save.mutate(parseSoundPrefs(localStorage.getItem(soundKey(userId)), null));
  }, [fromServer, userId, save.mutate]);
  const change = useCallback(
    (next: SoundPrefs) => {
      setSound(next);
      localStorage.setItem(soundKey(userId), JSON.stringify(next));
      // Offline, the local copy holds it until the next change reaches the server.
      save.mutate(next);
    },
    [userId, save.mutate],
  );
  return [sound, change];
}
