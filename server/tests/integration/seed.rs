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
        app::model::AgentQuery {
            limit: Some(100),
            ..Default::default()
        },
    )
    .await
    .expect("listing");
    assert_eq!(page.items.len(), 12);
}
