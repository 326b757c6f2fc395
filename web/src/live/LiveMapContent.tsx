import { useQueryClient } from "@tanstack/react-query";
import type { geofence } from "@vakt/schemas";
import type { z } from "zod";
import type { Positions } from "../live-data";
import { LiveMap, type TrailPoint } from "../map/LiveMap";
import { LocatorLookup } from "../map/LocatorLookup";
import type { RecipientMarker } from "../map/markers";
import { RecipientList } from "../map/RecipientList";
import { SelectedRecipient } from "../map/SelectedRecipient";
import { useUi } from "../session/context";

export interface MapFocus {
  selectedRecipient: string | null;
  setSelectedRecipient: (id: string | null) => void;
  followId: string | null;
  setFollowId: (id: string | null) => void;
  trailHours: number;
  setTrailHours: (hours: number) => void;
  focus: { lat: number; lon: number } | null;
  setFocus: (at: { lat: number; lon: number }) => void;
}

interface Props {
  markers: RecipientMarker[];
  trail: TrailPoint[];
  geofences: z.infer<typeof geofence>[];
  /** A locator's reason for looking (they look up one recipient at a time), or null. */
  lookupReason: string | null;
  positionsKey: readonly unknown[];
  view: MapFocus;
}

/** The live map with its recipient list and the selected recipient's card (once positions may be shown). */
export function LiveMapContent({ markers, trail, geofences, lookupReason, positionsKey, view }: Props) {
  const { t } = useUi();
  const client = useQueryClient();
  const { selectedRecipient, setSelectedRecipient, followId, setFollowId, setFocus } = view;
  const selected = markers.find((m) => m.recipientId === selectedRecipient) ?? null;
  return (
    <>
      <LiveMap
        markers={markers}
        selectedId={selectedRecipient}
        followId={followId}
        trail={trail}
        geofences={geofences}
        focus={view.focus}
        onSelect={setSelectedRecipient}
      />
      <p className="sr-only" role="status">
        {t("map.recipients", { count: markers.length })}
      </p>
      {lookupReason && (
        <LocatorLookup
          reason={lookupReason}
          onFound={(p) => {
            client.setQueryData<Positions>(positionsKey, p ? new Map([[p.recipientId, p]]) : new Map());
            if (p) {
              setSelectedRecipient(p.recipientId);
              setFocus({ lat: p.lat, lon: p.lon });
            }
          }}
        />
      )}
      <RecipientList
        markers={markers}
        onSelect={(m) => {
          setSelectedRecipient(m.recipientId);
          setFocus({ lat: m.lat, lon: m.lon });
        }}
      />
      {selected && (
        <SelectedRecipient
          marker={selected}
          following={followId === selected.recipientId}
          trailHours={view.trailHours}
          onFollow={(on) => setFollowId(on ? selected.recipientId : null)}
          onTrailHours={view.setTrailHours}
          onClose={() => {
            setSelectedRecipient(null);
            if (followId === selected.recipientId) setFollowId(null);
          }}
        />
      )}
    </>
  );
}
