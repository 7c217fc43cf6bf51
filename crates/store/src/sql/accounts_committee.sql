-- An account's leads whose contact holds a role or is its primary one, by lead id.
SELECT lead_id, contact_role, contact_role_at, primary_contact, contact_name, contact_title
FROM leads
WHERE tenant_id = $1 AND account_key = $2 AND (contact_role <> '' OR primary_contact)
ORDER BY lead_id
