-- Issue 16 item 2: each recipient's call list (who the night shift phones, in
-- order), calls logged on an alarm as 'called' transitions, and each staff
-- user's alarm sound kept on the server so it follows them between browsers.
CREATE TABLE recipient_contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  organisation_id uuid NOT NULL,
  recipient_id uuid NOT NULL,
  -- Unique per recipient, deferred so a reorder can swap places in one statement.
  position integer NOT NULL CHECK (position >= 1),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  relation text NOT NULL CHECK (relation IN ('next_of_kin', 'neighbour', 'own_phone', 'doctor', 'other')),
  -- E.164, as the API normalised it.
  phone text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{5,15}$'),
  notes text NOT NULL DEFAULT '',
  availability text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (organisation_id, id),
  CONSTRAINT recipient_contacts_position_key UNIQUE (recipient_id, position) DEFERRABLE INITIALLY DEFERRED,
  -- Erasing the recipient erases their call list.
  FOREIGN KEY (organisation_id, recipient_id) REFERENCES recipients (organisation_id, id) ON DELETE CASCADE
);

ALTER TABLE alarm_transitions DROP CONSTRAINT alarm_transitions_kind_check;
ALTER TABLE alarm_transitions ADD CONSTRAINT alarm_transitions_kind_check CHECK (kind IN ('raised',
  'acknowledged', 'commented', 'resolved', 'cancelled', 'reopened', 'cleared', 'escalated', 'notified',
  'device_confirmed', 'called'));

-- {newAlarms, asked, repeatS}; NULL: never set, the console's defaults apply.
ALTER TABLE staff_users ADD COLUMN sound_prefs jsonb;
