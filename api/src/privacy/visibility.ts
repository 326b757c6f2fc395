/**
 * Restriction of processing (GDPR art. 18): a restricted recipient's data is
 * kept but shown to nobody in ordinary views. Only an organisation
 * administrator sees it, through the privacy routes, giving a reason each time.
 * An erased recipient no longer exists; rows that outlived them (alarms) point
 * at an erasure record instead.
 *
 * Every query that returns recipient data, positions or alarms adds one of these.
 */

/** SQL predicate: the recipients row aliased `alias` may be shown in ordinary views. */
export const recipientVisibleSql = (alias: string) => `${alias}.restricted_at IS NULL`;

/**
 * SQL predicate for rows carrying a `recipient_id` column (alarms, positions,
 * geofences): the row has no recipient, or one that may be shown. Alarms of an
 * erased recipient have recipient_id NULL and erasure_id set; they stay visible
 * as documentation without personal data.
 */
export const rowRecipientVisibleSql = (alias: string) =>
  `(${alias}.recipient_id IS NULL OR NOT EXISTS (SELECT 1 FROM recipients vr
     WHERE vr.organisation_id = ${alias}.organisation_id AND vr.id = ${alias}.recipient_id
       AND vr.restricted_at IS NOT NULL))`;
