//! Agents' key-value state in PostgreSQL: the sandbox's `kv` capability, one
//! namespace per deployment.

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use futures::future::BoxFuture;
use runtime::kv::KvStore;
use service::DbPool;
use service::agents::escape_like;
use service::schema::agent_kv;
use uuid::Uuid;

/// Most keys one deployment may keep.
pub const MAX_KEYS: i64 = 10_000;

/// One deployment's store.
pub struct PgKv {
    db: DbPool,
    deployment: Uuid,
}

/// Stores by deployment, for the service layer's runs.
pub fn factory(db: DbPool) -> service::runs::KvFactory {
    std::sync::Arc::new(move |deployment| std::sync::Arc::new(PgKv::new(db.clone(), deployment)))
}

impl PgKv {
    pub fn new(db: DbPool, deployment: Uuid) -> Self {
        Self { db, deployment }
    }

    async fn connection(&self) -> Result<service::DbConn, String> {
        self.db.get().await.map_err(|error| {
            tracing::error!(%error, "kv: no database connection");
            "the store is unavailable; try again".to_owned()
        })
    }
}

fn failed(error: diesel::result::Error) -> String {
    tracing::error!(%error, "kv query failed");
    "the store is unavailable; try again".to_owned()
}

impl KvStore for PgKv {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            agent_kv::table
                .filter(agent_kv::deployment_id.eq(self.deployment))
                .filter(agent_kv::key.eq(key))
                .select(agent_kv::value)
                .first::<String>(&mut conn)
                .await
                .optional()
                .map_err(failed)
        })
    }

    fn set<'a>(&'a self, key: &'a str, value: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            let updated = diesel::update(agent_kv::table)
                .filter(agent_kv::deployment_id.eq(self.deployment))
                .filter(agent_kv::key.eq(key))
                .set((
                    agent_kv::value.eq(value),
                    agent_kv::updated_at.eq(diesel::dsl::now),
                ))
                .execute(&mut conn)
                .await
                .map_err(failed)?;
            if updated > 0 {
                return Ok(());
            }
            let count: i64 = agent_kv::table
                .filter(agent_kv::deployment_id.eq(self.deployment))
                .count()
                .get_result(&mut conn)
                .await
                .map_err(failed)?;
            if count >= MAX_KEYS {
                return Err(format!(
                    "the store is full ({MAX_KEYS} keys); delete some first"
                ));
            }
            diesel::insert_into(agent_kv::table)
                .values((
                    agent_kv::deployment_id.eq(self.deployment),
                    agent_kv::key.eq(key),
                    agent_kv::value.eq(value),
                ))
                .on_conflict((agent_kv::deployment_id, agent_kv::key))
                .do_update()
                .set((
                    agent_kv::value.eq(excluded(agent_kv::value)),
                    agent_kv::updated_at.eq(diesel::dsl::now),
                ))
                .execute(&mut conn)
                .await
                .map(drop)
                .map_err(failed)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            diesel::delete(agent_kv::table)
                .filter(agent_kv::deployment_id.eq(self.deployment))
                .filter(agent_kv::key.eq(key))
                .execute(&mut conn)
                .await
                .map(|deleted| deleted > 0)
                .map_err(failed)
        })
    }

    fn keys<'a>(
        &'a self,
        prefix: &'a str,
        limit: u32,
    ) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut conn = self.connection().await?;
            agent_kv::table
                .filter(agent_kv::deployment_id.eq(self.deployment))
                .filter(
                    agent_kv::key
                        .like(format!("{}%", escape_like(prefix)))
                        .escape('\\'),
                )
                .order(agent_kv::key.asc())
                .limit(i64::from(limit))
                .select(agent_kv::key)
                .load::<String>(&mut conn)
                .await
                .map_err(failed)
        })
    }
}
