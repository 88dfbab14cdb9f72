//! Raw SQL the database plans once per connection.
//!
//! `diesel::sql_query` marks its text as unsafe to keep prepared (it may be
//! built at run time), so each call is parsed and planned again: about
//! 0.6 ms for the run path's statements, more than executing them. A
//! `Statement` is a constant text whose `@name` markers are its
//! parameters: prepared once per pooled connection, its plan kept.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Untyped;

/// Binds a statement's named parameters.
pub trait Params {
    /// Pushes the bind parameter `name` (a marker `@name` in the text).
    fn bind<'b>(&'b self, name: &str, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()>;
}

/// A constant SQL text and its parameters, loaded by name
/// (`QueryableByName`) like `sql_query`'s.
pub struct Statement<P> {
    pub text: &'static str,
    pub params: P,
}

impl<P: Params> QueryFragment<Pg> for Statement<P> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut rest = self.text;
        while let Some(at) = rest.find('@') {
            out.push_sql(&rest[..at]);
            let name_len = rest[at + 1..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len() - at - 1);
            self.params
                .bind(&rest[at + 1..at + 1 + name_len], &mut out)?;
            rest = &rest[at + 1 + name_len..];
        }
        out.push_sql(rest);
        Ok(())
    }
}

// Cached by its text (and its parameters' types).
impl<P> QueryId for Statement<P> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<P> Query for Statement<P> {
    type SqlType = Untyped;
}

/// The error for a marker a statement's parameters do not have.
pub fn unknown(name: &str) -> diesel::result::Error {
    diesel::result::Error::QueryBuilderError(format!("no parameter @{name}").into())
}
