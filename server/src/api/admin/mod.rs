//! Platform administration: the job queue.

pub mod jobs;
