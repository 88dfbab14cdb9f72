-- What counts against monthly spend caps, kept as a counter per deployment
-- and per API key and calendar month (UTC): the price of each paid run
-- started in the month, added when its price is held and taken off again
-- if the hold is given back (so: held plus charged). A cap is checked and
-- the counter moved in one statement, so a check never scans the month's
-- runs and concurrent starts cannot both slip under a cap.
CREATE TABLE spend_months (
    scope  text NOT NULL CHECK (scope IN ('deployment', 'api_key')),
    owner  uuid NOT NULL,
    month  date NOT NULL CHECK (extract(day FROM month) = 1),
    spent  bigint NOT NULL CHECK (spent >= 0),
    PRIMARY KEY (scope, owner, month)
);

INSERT INTO spend_months (scope, owner, month, spent)
SELECT 'deployment', deployment_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date,
       sum(CASE WHEN status IN ('queued', 'running') THEN price_credits ELSE charged_credits END)
FROM runs WHERE price_credits > 0
GROUP BY 1, 2, 3;
INSERT INTO spend_months (scope, owner, month, spent)
SELECT 'api_key', api_key_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date,
       sum(CASE WHEN status IN ('queued', 'running') THEN price_credits ELSE charged_credits END)
FROM runs WHERE price_credits > 0 AND api_key_id IS NOT NULL
GROUP BY 1, 2, 3;

DROP INDEX runs_api_key_spend_idx;
