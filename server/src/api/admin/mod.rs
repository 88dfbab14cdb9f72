//! Platform administration: the job queue and credit grants.

pub mod credits;

pub mod jobs;

pub mod outbox;
