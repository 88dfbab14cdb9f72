-- Live events (DESIGN.md, "Live events"): committed first, with a sequence
-- number per topic, then fanned out. A client that reconnects with `since`
-- reads what it missed from here.
--
-- `event_topics` hands out the numbers: taking the next one locks the
-- topic's row until commit, so a topic's events commit in their order and a
-- reader never sees 7 before 6.
CREATE TABLE event_topics (
    topic    text PRIMARY KEY CHECK (length(topic) BETWEEN 1 AND 200),
    last_seq bigint NOT NULL CHECK (last_seq >= 1)
);

CREATE TABLE events (
    topic      text NOT NULL,
    seq        bigint NOT NULL CHECK (seq >= 1),
    event      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, seq)
);
CREATE INDEX events_created_idx ON events (created_at);

-- Every server instance LISTENs and hands each event to its subscribers.
-- The payload carries the event itself when it fits in a notification
-- (8000 bytes); otherwise only its address, and listeners read the row.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    full_payload text := json_build_object('topic', NEW.topic, 'seq', NEW.seq, 'event', NEW.event)::text;
BEGIN
    IF octet_length(full_payload) < 7900 THEN
        PERFORM pg_notify('agentdeck_events', full_payload);
    ELSE
        PERFORM pg_notify('agentdeck_events', json_build_object('topic', NEW.topic, 'seq', NEW.seq)::text);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();
