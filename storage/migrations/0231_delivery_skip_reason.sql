-- Why a delivery was skipped, as a code the console words in each language (the
-- detail stays free text for logs). 'phone_not_e164': a staff phone stored before
-- numbers were checked, which the SMS channel will not send to until corrected.
ALTER TABLE alarm_deliveries ADD COLUMN reason text
  CHECK (reason IN ('no_phone', 'phone_not_e164', 'cannot_act'));

-- The skips recorded before the code: by their (fixed) detail texts.
UPDATE alarm_deliveries SET reason = 'no_phone' WHERE result = 'skipped' AND detail = 'no phone';
UPDATE alarm_deliveries SET reason = 'cannot_act'
 WHERE result = 'skipped' AND detail LIKE '% cannot see and take alarms in %';
