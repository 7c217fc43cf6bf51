-- An account's leads whose contact was given a role (every assignment gives one), by lead id.
SELECT lead_id, contact_role, contact_role_at, primary_contact, primary_since, contact_name,
       contact_title
FROM leads
WHERE tenant_id = $1 AND account_key = $2 AND contact_role <> ''
ORDER BY lead_id
