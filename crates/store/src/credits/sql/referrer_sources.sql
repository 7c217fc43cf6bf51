-- The source (channel, campaign: the plain one, else the UTM one) of the leads
-- `($1[i], $2[i])`, as attribution reads a capture's (`Touchpoint::from_capture`), with each
-- lead's account and when that account's first lead signed (a referral by a customer is
-- credited to its account; a lead on its own, free mail or no domain, is no customer account).
SELECT l.tenant_id, l.lead_id, l.channel,
       CASE WHEN l.campaign = '' THEN l.utm_campaign ELSE l.campaign END,
       l.account_key,
       CASE WHEN l.account_key LIKE 'lead:%' OR l.account_key = '' THEN NULL
            ELSE (SELECT min(c.signed_at) FROM leads c
                  WHERE c.tenant_id = l.tenant_id AND c.account_key = l.account_key)
       END AS customer_since
FROM UNNEST($1::text[], $2::text[]) AS r(tenant_id, lead_id)
JOIN leads l ON l.tenant_id = r.tenant_id AND l.lead_id = r.lead_id
