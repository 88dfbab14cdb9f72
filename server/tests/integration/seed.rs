//! Migrations and the launch seed are safe to run again.

use crate::support::TestDb;

#[tokio::test]
async fn migrating_and_seeding_again_changes_nothing() {
    let db = TestDb::new().await;
    assert_eq!(server::db::migrate(db.url()).await.expect("migrating"), 0);
    let pool = server::db::pool(db.url(), 2).expect("pool");
    assert_eq!(server::seed::run(&pool).await.expect("seeding"), 0);
    assert_eq!(server::seed::run(&pool).await.expect("seeding"), 0);

    let services = app::service::Services::new(pool);
    let page = app::service::agents::list(
        &services,
        &app::service::auth::Actor::Anonymous,
        app::model::AgentQuery {
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
    let url = db.url().to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = diesel_async::async_connection_wrapper::AsyncConnectionWrapper::<
            diesel_async::AsyncPgConnection,
        >::establish(&url)
        .expect("connecting");
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
