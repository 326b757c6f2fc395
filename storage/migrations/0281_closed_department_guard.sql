-- Nothing new goes into a closed department: a recipient, device, role grant, alert rule, channel or
-- SSO mapping rule that is created in one, or moved to one, is refused (SQLSTATE VK001, which the API
-- answers as 409 department_closed). Enforced here, once, for every path, not only by the console's
-- choices. The department row is read FOR SHARE, so a department being closed at that moment is
-- either closed before the check (refused) or waits for the insert (and then counts it).
CREATE FUNCTION vakt_refuse_closed_department() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  closed timestamptz;
BEGIN
  IF NEW.department_id IS NULL
     OR (TG_OP = 'UPDATE' AND NEW.department_id IS NOT DISTINCT FROM OLD.department_id) THEN
    RETURN NEW;
  END IF;
  SELECT d.closed_at INTO closed FROM departments d WHERE d.id = NEW.department_id FOR SHARE;
  IF closed IS NOT NULL THEN
    RAISE EXCEPTION 'department % is closed', NEW.department_id USING ERRCODE = 'VK001';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER recipients_open_department BEFORE INSERT OR UPDATE OF department_id ON recipients
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
CREATE TRIGGER devices_open_department BEFORE INSERT OR UPDATE OF department_id ON devices
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
CREATE TRIGGER role_grants_open_department BEFORE INSERT OR UPDATE OF department_id ON role_grants
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
CREATE TRIGGER alert_rules_open_department BEFORE INSERT OR UPDATE OF department_id ON alert_rules
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
CREATE TRIGGER alert_endpoints_open_department BEFORE INSERT OR UPDATE OF department_id ON alert_endpoints
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
CREATE TRIGGER sso_mapping_rules_open_department BEFORE INSERT OR UPDATE OF department_id ON sso_mapping_rules
  FOR EACH ROW EXECUTE FUNCTION vakt_refuse_closed_department();
