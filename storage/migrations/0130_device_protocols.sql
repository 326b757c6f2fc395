-- Each device is provisioned for one protocol: the Vakt contract over MQTT
-- ('mqtt'), the OwnTracks app over MQTT ('owntracks'), or the OsmAnd protocol
-- over HTTP ('osmand', the Traccar Client app). MQTT devices log in with
-- their serial and secret (mqtt_secret_*); an OsmAnd device has no MQTT
-- credentials and is known only by the long random identifier issued at
-- provisioning (the app's "device identifier"), distinct from its serial and
-- stored only as its SHA-256, so that nobody who knows a serial can post
-- positions for it.
ALTER TABLE devices
  ADD COLUMN protocol text NOT NULL DEFAULT 'mqtt' CHECK (protocol IN ('mqtt', 'owntracks', 'osmand')),
  ADD COLUMN osmand_id_sha256 text UNIQUE CHECK (osmand_id_sha256 ~ '^[0-9a-f]{64}$'),
  ADD CONSTRAINT devices_osmand_id_only_for_osmand CHECK (osmand_id_sha256 IS NULL OR protocol = 'osmand');
