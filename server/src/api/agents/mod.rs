pub mod create;
pub mod draft;
pub mod list;
pub mod reviews;
pub mod show;
pub mod test_run;
pub mod update;
pub mod versions;
