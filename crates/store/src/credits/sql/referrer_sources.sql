-- The source (channel, campaign: the plain one, else the UTM one) of the leads
-- `($1[i], $2[i])`, as attribution reads a capture's (`Touchpoint::from_capture`).
SELECT l.tenant_id, l.lead_id, l.channel,
       CASE WHEN l.campaign = '' THEN l.utm_campaign ELSE l.campaign END
FROM UNNEST($1::text[], $2::text[]) AS r(tenant_id, lead_id)
JOIN leads l ON l.tenant_id = r.tenant_id AND l.lead_id = r.lead_id
