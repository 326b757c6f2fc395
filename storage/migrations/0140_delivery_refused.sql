-- A delivery the outbound guard refuses (a webhook or gateway on a loopback,
-- private, link-local or metadata address) is recorded as 'refused', once,
-- and not retried (issue 15).
ALTER TABLE alarm_deliveries DROP CONSTRAINT alarm_deliveries_result_check;
ALTER TABLE alarm_deliveries
  ADD CONSTRAINT alarm_deliveries_result_check
  CHECK (result IN ('sent', 'failed', 'retrying', 'skipped', 'refused'));
