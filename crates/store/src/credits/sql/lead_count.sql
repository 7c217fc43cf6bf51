SELECT count(*) FROM leads
