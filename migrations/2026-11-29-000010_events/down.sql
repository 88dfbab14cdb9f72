DROP TABLE events;
DROP TABLE event_topics;
DROP FUNCTION events_notify();
