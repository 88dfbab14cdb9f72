CREATE INDEX runs_api_key_spend_idx ON runs (api_key_id, created_at)
    WHERE api_key_id IS NOT NULL AND price_credits > 0;
DROP TABLE spend_months;
