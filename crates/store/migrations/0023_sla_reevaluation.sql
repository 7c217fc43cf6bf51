-- Policy changes apply to every clock (issue 19, docs/SLA.md "Changing the policy file"):
-- after a start with a policy file whose clock-deciding parts differ from those every clock
-- was last evaluated with, a background pass evaluates every lead's clocks again, in key
-- order, a step at a time. One row: what is done, and where the pass in progress stands (so a
-- restart resumes it).
CREATE TABLE sla_reevaluation (
    id                 int4        PRIMARY KEY CHECK (id = 1),
    -- Every lead's clocks were evaluated with the policies of this fingerprint ('' : unknown).
    done_fingerprint   text        NOT NULL DEFAULT '',
    -- The pass in progress: its fingerprint, the last lead it evaluated, how far it is.
    pass_fingerprint   text        NOT NULL DEFAULT '',
    after_tenant       text        NOT NULL DEFAULT '',
    after_lead         text        NOT NULL DEFAULT '',
    leads_done         int8        NOT NULL DEFAULT 0,
    leads_total        int8        NOT NULL DEFAULT 0,
    started_at         timestamptz,
    finished_at        timestamptz
);
INSERT INTO sla_reevaluation (id) VALUES (1);
