SELECT fingerprint FROM attribution_state WHERE singleton
