//! Migrations and the launch seed are safe to run again.

use crate::support::TestDb;

#[tokio::test]
async fn migrating_and_seeding_again_changes_nothing() {
    let db = TestDb::new().await;
    assert_eq!(server::db::migrate(db.url()).await.expect("migrating"), 0);
    let pool = server::db::pool(db.url(), 2).expect("pool");
    assert_eq!(server::seed::run(&pool).await.expect("seeding"), 0);
    assert_eq!(server::seed::run(&pool).await.expect("seeding"), 0);

    let services = service::Services::new(pool);
    let page = service::agents::list(
        &services,
        &service::auth::Actor::Anonymous,
        types::AgentQuery {
            limit: Some(100),
            ..Default::default()
        },
    )
    .await
    .expect("listing");
    assert_eq!(page.items.len(), 12);
}

#[tokio::test]
async fn migrations_revert_and_apply_again_cleanly() {
    use diesel_migrations::MigrationHarness as _;

    let db = TestDb::new().await;
    with_sync_connection(&db, |conn| {
        let reverted = conn
            .revert_all_migrations(server::db::MIGRATIONS)
            .expect("reverting")
            .len();
        assert!(reverted > 0);
        let applied = conn
            .run_pending_migrations(server::db::MIGRATIONS)
            .expect("applying")
            .len();
        assert_eq!(applied, reverted);
    })
    .await;
}

/// A synchronous connection, which diesel's migration harness needs.
type SyncConnection =
    diesel_async::async_connection_wrapper::AsyncConnectionWrapper<diesel_async::AsyncPgConnection>;

/// Runs `work` with a synchronous connection to `db`, on a thread that may
/// block.
async fn with_sync_connection(
    db: &TestDb,
    work: impl FnOnce(&mut SyncConnection) + Send + 'static,
) {
    use diesel::Connection as _;
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SyncConnection::establish(&url).expect("connecting");
        work(&mut conn);
    })
    .await
    .expect("the migration thread");
}

#[tokio::test]
async fn updated_at_follows_every_change() {
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _};

    let db = TestDb::new().await;
    let mut conn = diesel_async::AsyncPgConnection::establish(db.url())
        .await
        .expect("connecting");
    diesel::sql_query("UPDATE agents SET summary = summary || '!' WHERE slug = 'analytics'")
        .execute(&mut conn)
        .await
        .expect("updating");
    #[derive(diesel::QueryableByName)]
    struct Moved {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        moved: bool,
    }
    let row: Moved = diesel::sql_query(
        "SELECT updated_at > created_at AS moved FROM agents WHERE slug = 'analytics'",
    )
    .get_result(&mut conn)
    .await
    .expect("reading");
    assert!(row.moved);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Agents whose workspace is their author's personal workspace.
const IN_AUTHORS_WORKSPACE: &str = "SELECT count(*) AS n FROM agents
     JOIN workspaces ON workspaces.id = agents.workspace_id
     WHERE workspaces.personal_user_id = agents.owner_user_id";

#[tokio::test]
async fn agents_belong_to_a_workspace_also_after_the_upgrade() {
    use diesel::RunQueryDsl as _;
    use diesel_migrations::MigrationHarness as _;

    let db = TestDb::new().await;
    with_sync_connection(&db, |conn| {
        let count = |conn: &mut SyncConnection| {
            diesel::sql_query(IN_AUTHORS_WORKSPACE)
                .get_result::<Count>(conn)
                .expect("counting")
                .n
        };
        assert_eq!(count(conn), 12, "the seed puts agents in a workspace");

        // The database as it was before agents had workspaces, with its
        // agents: the migration fills the column from the author.
        let migrations = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
            &server::db::MIGRATIONS,
        )
        .expect("listing migrations");
        let adding = migrations
            .iter()
            .find(|m| m.name().to_string().ends_with("_agent_workspaces"))
            .expect("the agent workspaces migration");
        conn.revert_migration(adding.as_ref()).expect("reverting");
        conn.run_migration(adding.as_ref()).expect("applying again");
        assert_eq!(count(conn), 12);
    })
    .await;
}
