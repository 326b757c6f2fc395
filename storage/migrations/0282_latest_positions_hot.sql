-- Ingest rewrites a device's row in latest_positions in every batch that holds one of its fixes
-- (issue #20 item 2). With `time` in latest_positions_recipient_idx, every such update added an
-- entry to both of the table's indexes. The current-positions join (api/src/positions/service.ts)
-- finds rows by organisation and recipient, one row per device, and filters on time itself; without
-- `time` in the index, and with room left on each page for the next version of its rows, an update
-- changes no indexed column and is a heap-only (HOT) update: no index entry at all. The index still
-- serves the recipients foreign key's ON DELETE CASCADE. Plain PostgreSQL and TimescaleDB alike
-- (latest_positions is an ordinary table on both).
DROP INDEX latest_positions_recipient_idx;
CREATE INDEX latest_positions_recipient_idx ON latest_positions (organisation_id, recipient_id);
-- New pages keep half their space free; existing ones gain room as old row versions are pruned.
ALTER TABLE latest_positions SET (fillfactor = 50);
