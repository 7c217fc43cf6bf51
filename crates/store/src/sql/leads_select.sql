-- Every column of a `leads` row (`LeadRow`); `get_lead` and `list_leads` append their WHERE.
SELECT tenant_id, lead_id, stage, owner_team, owner_queue,
  owner_rep_id, owner_partner_id, email, phone, contact_name, contact_title, contact_erased_at,
  company_name,
  company_domain, region, industry, segment, account_id, account_key, contact_role,
  contact_role_at, primary_contact, primary_since, employees, channel, campaign, medium, keyword,
  utm_source, utm_medium, utm_campaign, utm_term, utm_content, landing_page, referrer,
  offline_activity_id, captured_at, max_rank, signed_amount_minor, signed_currency,
  collected_amount_minor, event_count, last_event_at, feedback_required, feedback_filled
FROM leads
