//! Credits: paid runs against a wallet under concurrency, idempotent
//! charges, failures given back, and a ledger that always balances.

use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;

/// Publishes 1.0.0 of an agent of `author` at `price` credits a run; its
/// slug. The agent fails when its input says so.
async fn paid_agent(author: &mut Browser, name: &str, price: i64) -> String {
    let source = "export default function run(input) {\n  if (input.fail) throw new Error(\"asked to fail\");\n  return { ok: true };\n}\n";
    crate::support::publish_agent(author, name, |draft| {
        draft["source"] = json!(source);
        draft["listing"]["price_credits"] = json!(price);
    })
    .await
}

async fn wallet(browser: &mut Browser) -> Value {
    let (status, wallet) = browser.get("/api/v1/wallet").await;
    assert_eq!(status, StatusCode::OK, "{wallet}");
    wallet
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn number(app: &TestApp, sql: &str) -> i64 {
    let mut conn = app.sql().await;
    diesel::sql_query(sql)
        .get_result::<Number>(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// The ledger balances: all entries sum to zero, every transaction sums to
/// zero, and every account's balance is the sum of its entries.
async fn assert_ledger_balances(app: &TestApp) {
    assert_eq!(
        number(
            app,
            "SELECT coalesce(sum(amount), 0)::bigint AS n FROM ledger_entries"
        )
        .await,
        0
    );
    assert_eq!(
        number(
            app,
            "SELECT count(*) AS n FROM (SELECT transaction_id FROM ledger_entries \
             GROUP BY transaction_id HAVING sum(amount) <> 0) unbalanced"
        )
        .await,
        0
    );
    assert_eq!(
        number(
            app,
            "SELECT count(*) AS n FROM ledger_accounts a WHERE a.balance <> \
             (SELECT coalesce(sum(amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)"
        )
        .await,
        0
    );
}

/// Every credit movement has one audit line in each workspace it touched,
/// with what moved there, and no audit line names a movement that was not.
async fn assert_every_movement_audited(app: &TestApp) {
    let touched = "SELECT DISTINCT e.transaction_id::text AS tx, a.workspace_id \
                   FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
                   WHERE a.workspace_id IS NOT NULL";
    let audited = "SELECT target_id AS tx, workspace_id FROM audit_events \
                   WHERE action LIKE 'credits.%'";
    assert!(
        number(app, &format!("SELECT count(*) AS n FROM ({touched}) t")).await > 0,
        "movements to check"
    );
    for (left, right) in [(touched, audited), (audited, touched)] {
        assert_eq!(
            number(
                app,
                &format!("SELECT count(*) AS n FROM ({left} EXCEPT ALL {right}) missing")
            )
            .await,
            0,
            "{left} EXCEPT ALL {right}"
        );
    }
}

/// The spend counters (`spend_months`) say what the runs say: per
/// deployment and key and month, the price of every run not given back.
async fn assert_spend_counted(app: &TestApp) {
    let from_runs = |owner: &str, scope: &str| {
        format!(
            "SELECT '{scope}' AS scope, {owner} AS owner, \
                    date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month, \
                    sum(CASE WHEN status IN ('queued', 'running') THEN price_credits \
                             ELSE charged_credits END)::bigint AS spent \
             FROM runs WHERE price_credits > 0 AND {owner} IS NOT NULL GROUP BY 1, 2, 3"
        )
    };
    for expected in [
        from_runs("deployment_id", "deployment"),
        from_runs("api_key_id", "api_key"),
    ] {
        let scope = if expected.contains("'deployment'") {
            "deployment"
        } else {
            "api_key"
        };
        let counted = format!(
            "SELECT scope, owner, month, spent FROM spend_months \
             WHERE scope = '{scope}' AND spent > 0"
        );
        for (left, right) in [(&expected, &counted), (&counted, &expected)] {
            assert_eq!(
                number(
                    app,
                    &format!("SELECT count(*) AS n FROM ({left} EXCEPT {right}) differ")
                )
                .await,
                0,
                "{left} EXCEPT {right}"
            );
        }
    }
}

/// The charges in the caller's own workspace's audit log.
async fn settle_lines(browser: &mut Browser) -> Vec<Value> {
    let path = "/api/v1/audit?action=credits.settle&limit=200";
    let (status, page) = browser.get(path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn two_hundred_concurrent_paid_runs_against_credits_for_fifty() {
    let app = std::sync::Arc::new(TestApp::builder().workers().spawn().await);
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    // Bob starts with 100 credits; at 2 a run he can pay for exactly 50.
    assert_eq!(wallet(&mut bob).await["balance"], 100);
    let slug = paid_agent(&mut ada, "Pricey", 2).await;
    let id = crate::support::deploy_running(&mut bob, json!({ "agent": slug }))
        .await
        .0;

    let path = format!("/api/v1/deployments/{id}/runs");
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let mut bob = bob.clone();
            let path = path.clone();
            tokio::spawn(async move {
                bob.post(&path, json!({ "input": {}, "mode": "async" }))
                    .await
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for task in tasks {
        let (status, body) = task.await.expect("a request task");
        match status {
            StatusCode::ACCEPTED => accepted.push(body["id"].as_str().expect("id").to_owned()),
            StatusCode::PAYMENT_REQUIRED => {
                assert_eq!(body["error"]["code"], "insufficient_credits", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((accepted.len(), refused), (50, 150));
    // Refused before anything ran: no run was even recorded.
    assert_eq!(
        number(&app, "SELECT count(*) AS n FROM runs").await,
        50,
        "only the paid-for runs exist"
    );

    // All 50 run and succeed.
    for _ in 0..1200 {
        let done = number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE status = 'succeeded'",
        )
        .await;
        if done == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE charged_credits = 2"
        )
        .await,
        50
    );
    let bob_wallet = wallet(&mut bob).await;
    assert_eq!(
        (&bob_wallet["balance"], &bob_wallet["held"]),
        (&json!(0), &json!(0))
    );
    let ada_wallet = wallet(&mut ada).await;
    // 80 % of 2 is 1.6: the creator's share rounds down to 1 a run.
    assert_eq!(ada_wallet["earnings"], 50, "{ada_wallet}");
    assert_eq!(
        number(
            &app,
            "SELECT balance AS n FROM ledger_accounts WHERE kind = 'revenue'"
        )
        .await,
        50
    );
    assert_eq!(
        number(
            &app,
            "SELECT count(*) AS n FROM ledger_transactions WHERE kind = 'settle'"
        )
        .await,
        50
    );
    // A settled run is never also released, whichever path would try.
    let mut conn = app.sql().await;
    let refused = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "INSERT INTO ledger_transactions \
                 (idempotency_key, kind, workspace_id, run_id, agent_id, memo) \
             SELECT 'run:' || run_id || ':release', 'release', workspace_id, run_id, agent_id, \
                    'a second ending' \
             FROM ledger_transactions WHERE kind = 'settle' LIMIT 1",
        ),
        &mut conn,
    )
    .await
    .expect_err("a second ending of one run is refused");
    assert!(
        refused.to_string().contains("ledger_one_ending_per_run"),
        "{refused}"
    );
    assert_ledger_balances(&app).await;
    assert_every_movement_audited(&app).await;
    assert_spend_counted(&app).await;
    // Through the API: Bob's log holds his holds and charges, Ada's the
    // earnings of the same charges.
    let bob_log = settle_lines(&mut bob).await;
    assert_eq!(bob_log.len(), 50);
    assert_eq!(bob_log[0]["details"]["amounts"], json!({ "held": -2 }));
    let ada_log = settle_lines(&mut ada).await;
    assert_eq!(ada_log.len(), 50);
    assert_eq!(ada_log[0]["details"]["amounts"], json!({ "earnings": 1 }));
    assert_eq!(
        ada_log[0]["target_id"], bob_log[0]["target_id"],
        "one movement, two logs"
    );
    // Whose run it was is the payer's to know: the creator's line has the
    // agent and the amount, not the run or its memo.
    assert!(bob_log[0]["details"]["run"].is_string(), "{}", bob_log[0]);
    assert!(ada_log[0]["details"].get("run").is_none(), "{}", ada_log[0]);
    assert!(
        ada_log[0]["details"].get("memo").is_none(),
        "{}",
        ada_log[0]
    );
    assert!(ada_log[0]["details"]["agent"].is_string(), "{}", ada_log[0]);

    // A wallet at zero: the next run is refused with the reason.
    let (status, body) = bob.post(&path, json!({ "input": {} })).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("costs 2 credits") && m.contains("has 0")),
        "{body}"
    );
}

#[tokio::test]
async fn one_idempotency_key_charges_once_and_failures_are_given_back() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let slug = paid_agent(&mut ada, "Ten a run", 10).await;
    let id = crate::support::deploy_running(&mut bob, json!({ "agent": slug }))
        .await
        .0;
    let path = format!("/api/v1/deployments/{id}/runs");

    for _ in 0..3 {
        let (status, run) = bob.post(&path, json!({ "input": {} })).await;
        assert_eq!(
            (status, &run["charged_credits"]),
            (StatusCode::OK, &json!(10)),
            "{run}"
        );
    }
    let mut runs = Vec::new();
    for _ in 0..2 {
        let response = app
            .http
            .post(app.url(&path))
            .header("cookie", bob.cookie.clone().expect("a session"))
            .header("origin", &app.base_url)
            .header("x-csrf-token", bob.csrf.clone().expect("a token"))
            .header("idempotency-key", "order-42")
            .json(&json!({ "input": {} }))
            .send()
            .await
            .expect("a run request");
        assert_eq!(response.status(), StatusCode::OK);
        let run: Value = response.json().await.expect("json");
        runs.push(run);
    }
    assert_eq!(runs[0]["id"], runs[1]["id"], "the same run");
    assert_eq!(runs[0]["output"], runs[1]["output"]);
    assert_eq!(runs[0]["charged_credits"], 10);
    // 100 - 3 plain runs - 1 keyed run, 10 each.
    assert_eq!(wallet(&mut bob).await["balance"], 60);

    // A run that fails is not charged: its hold comes back.
    let (status, failed) = bob.post(&path, json!({ "input": { "fail": true } })).await;
    assert_eq!(status, StatusCode::OK, "{failed}");
    assert_eq!(
        (
            &failed["status"],
            &failed["price_credits"],
            &failed["charged_credits"]
        ),
        (&json!("failed"), &json!(10), &json!(0))
    );
    let bob_wallet = wallet(&mut bob).await;
    assert_eq!(
        (&bob_wallet["balance"], &bob_wallet["held"]),
        (&json!(60), &json!(0))
    );

    // The author runs her own agent for free.
    let own = crate::support::deploy_running(&mut ada, json!({ "agent": slug }))
        .await
        .0;
    let (_, run) = ada
        .post(
            &format!("/api/v1/deployments/{own}/runs"),
            json!({ "input": {} }),
        )
        .await;
    assert_eq!(
        (&run["status"], &run["price_credits"]),
        (&json!("succeeded"), &json!(0))
    );
    let ada_wallet = wallet(&mut ada).await;
    assert_eq!(
        (&ada_wallet["balance"], &ada_wallet["earnings"]),
        (&json!(100), &json!(32))
    );

    // Bob's ledger, a line at a time, is the same as in one page.
    let (_, whole) = bob.get("/api/v1/ledger").await;
    let whole = whole["items"].as_array().expect("items").clone();
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = bob
            .get(&format!("/api/v1/ledger?limit=1&cursor={cursor}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    // Starter, then for each of 5 runs a hold (wallet and held lines) and a
    // charge or a release (one or two of Bob's lines).
    let kinds: Vec<&str> = whole.iter().filter_map(|l| l["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "starter").count(), 1);
    assert_eq!(kinds.iter().filter(|k| **k == "reserve").count(), 10);
    assert_eq!(kinds.iter().filter(|k| **k == "settle").count(), 4);
    assert_eq!(kinds.iter().filter(|k| **k == "release").count(), 2);
    let sum = |account: &str| -> i64 {
        whole
            .iter()
            .filter(|line| line["account"] == account)
            .filter_map(|line| line["amount"].as_i64())
            .sum()
    };
    assert_eq!(
        (sum("wallet"), sum("held")),
        (60, 0),
        "the lines add up to the balances"
    );
    assert_ledger_balances(&app).await;
    assert_every_movement_audited(&app).await;
    assert_spend_counted(&app).await;

    // Usage by day and agent: Bob spent 40 on 4 charged runs today, and
    // Ada's agent earned 4 shares of 8 (her own free run counts nowhere).
    // The day the charges were made (not "today": the test may straddle
    // midnight, UTC).
    let today = whole
        .iter()
        .find(|line| line["kind"] == "settle")
        .and_then(|line| line["at"].as_str())
        .map(|at| at[..10].to_owned())
        .expect("a charge");
    let (status, usage) = bob.get("/api/v1/billing/usage?days=7").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(
        usage["spent"],
        json!([{ "day": today, "agent": slug, "agent_name": "Ten a run", "credits": 40, "runs": 4 }])
    );
    assert_eq!(usage["earned"], json!([]));
    let (_, usage) = ada.get("/api/v1/billing/usage").await;
    assert_eq!(usage["days"], 30);
    assert_eq!(
        usage["earned"],
        json!([{ "day": today, "agent": slug, "agent_name": "Ten a run", "credits": 32, "runs": 4 }])
    );
    let (status, body) = bob.get("/api/v1/billing/usage?days=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "days");

    // The CSV export holds the same lines as the API.
    let response = bob.send(Method::GET, "/api/v1/ledger.csv", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .expect("text")
            .contains("agentdeck-ledger-bob.csv")
    );
    let csv = response.text().await.expect("a body");
    // Compressed too, to the end (the stream is polled past its end then).
    let compressed = app
        .http
        .get(app.url("/api/v1/ledger.csv"))
        .header("cookie", bob.cookie.clone().expect("a session"))
        .header("accept-encoding", "br")
        .send()
        .await
        .expect("an export");
    assert_eq!(compressed.headers()["content-encoding"], "br");
    let bytes = compressed.bytes().await.expect("the whole export");
    assert!(!bytes.is_empty());
    let rows: Vec<Vec<&str>> = csv.lines().map(|line| line.split(',').collect()).collect();
    assert_eq!(
        rows[0],
        [
            "transaction",
            "entry",
            "at",
            "kind",
            "account",
            "amount",
            "memo",
            "run",
            "agent"
        ]
    );
    assert_eq!(rows.len(), whole.len() + 1);
    for (row, line) in rows[1..].iter().zip(&whole) {
        assert_eq!(row[0], line["transaction"].to_string());
        assert_eq!(
            (row[3], row[4]),
            (
                line["kind"].as_str().expect("kind"),
                line["account"].as_str().expect("account")
            )
        );
        assert_eq!(row[5], line["amount"].to_string());
    }

    // Nobody else reads Bob's wallet.
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    for path in [
        "/api/v1/wallet?workspace=bob",
        "/api/v1/ledger.csv?workspace=bob",
        "/api/v1/billing/usage?workspace=bob",
    ] {
        let (status, _) = eve.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

/// A run with an API key's bearer token.
async fn run_with_key(
    app: &TestApp,
    token: &str,
    deployment: &str,
    mode: &str,
) -> (StatusCode, Value) {
    let response = app
        .http
        .post(app.url(&format!("/api/v1/deployments/{deployment}/runs")))
        .bearer_auth(token)
        .json(&json!({ "input": {}, "mode": mode }))
        .send()
        .await
        .expect("a run request");
    crate::support::json_of(response).await
}

#[tokio::test]
async fn monthly_spend_caps_stop_a_deployment_and_a_key() {
    let app = std::sync::Arc::new(TestApp::builder().workers().spawn().await);
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    let slug = paid_agent(&mut ada, "Five a run", 5).await;
    let capped = crate::support::deploy_running(&mut bob, json!({ "agent": slug }))
        .await
        .0;

    // A bad cap is refused with the field named; a good one shows.
    let cap_path = format!("/api/v1/deployments/{capped}/spend-cap");
    let (status, body) = bob.put(&cap_path, json!({ "monthly_credits": -1 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["field"], "monthly_credits");
    // A body without the field (or misspelt) is refused, never "no cap".
    for body in [json!({}), json!({ "monthly_credit": 5 })] {
        let (status, answer) = bob.put(&cap_path, body).await;
        assert!(status.is_client_error(), "{status}: {answer}");
    }
    let (status, shown) = bob.put(&cap_path, json!({ "monthly_credits": 12 })).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (&shown["spend_cap_credits"], &shown["spent_this_month"]),
        (&json!(12), &json!(0))
    );

    // Two runs fit under 12; a failed one costs nothing; the third paid
    // one would make 15 and is refused before anything is held.
    let runs = format!("/api/v1/deployments/{capped}/runs");
    for input in [json!({}), json!({ "fail": true }), json!({})] {
        let (status, run) = bob.post(&runs, json!({ "input": input })).await;
        assert_eq!(status, StatusCode::OK, "{run}");
    }
    let (status, refused) = bob.post(&runs, json!({ "input": {} })).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{refused}");
    assert_eq!(refused["error"]["code"], "spend_cap_reached");
    assert_eq!(refused["error"]["field"], "deployment.spend_cap_credits");
    let message = refused["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("12") && message.contains("10 spent"),
        "{message}"
    );
    let bob_wallet = wallet(&mut bob).await;
    assert_eq!(
        (&bob_wallet["balance"], &bob_wallet["held"]),
        (&json!(90), &json!(0))
    );
    let (_, shown) = bob.get(&format!("/api/v1/deployments/{capped}")).await;
    assert_eq!(shown["spent_this_month"], 10);
    // Lifting the cap lets runs through again.
    let (status, _) = bob.put(&cap_path, json!({ "monthly_credits": null })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, run) = bob.post(&runs, json!({ "input": {} })).await;
    assert_eq!(
        (status, &run["status"]),
        (StatusCode::OK, &json!("succeeded"))
    );

    // A key capped at 20 a month, used concurrently on two uncapped
    // deployments: exactly four 5-credit runs get through.
    let other = crate::support::deploy_running(&mut bob, json!({ "agent": slug }))
        .await
        .0;
    let (status, created) = bob
        .post(
            "/api/v1/api-keys",
            json!({ "name": "batch", "scopes": ["runs:write"], "spend_cap_credits": 20 }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().expect("a token").to_owned();
    let key_id = created["key"]["id"].as_str().expect("an id").to_owned();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let app = std::sync::Arc::clone(&app);
            let token = token.clone();
            let deployment = if i % 2 == 0 {
                capped.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move { run_with_key(&app, &token, &deployment, "async").await })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        let (status, body) = task.await.expect("a request task");
        match status {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::PAYMENT_REQUIRED => {
                assert_eq!(
                    body["error"]["field"], "api_key.spend_cap_credits",
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(accepted, 4);
    let (_, keys) = bob.get("/api/v1/api-keys").await;
    let key = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|key| key["id"] == key_id.as_str())
        .expect("the key is listed")
        .clone();
    assert_eq!(
        (&key["spend_cap_credits"], &key["spent_this_month"]),
        (&json!(20), &json!(20))
    );
    // Its owner raises the cap; the next run goes through.
    let (status, key) = bob
        .put(
            &format!("/api/v1/api-keys/{key_id}/spend-cap"),
            json!({ "monthly_credits": 25 }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{key}");
    let (status, body) = run_with_key(&app, &token, &other, "async").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The async runs finish; the counters agree with the runs.
    for _ in 0..600 {
        let open = number(
            &app,
            "SELECT count(*) AS n FROM runs WHERE status IN ('queued', 'running')",
        )
        .await;
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_spend_counted(&app).await;
    // Someone else cannot touch Bob's caps.
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (status, _) = eve.put(&cap_path, json!({ "monthly_credits": 0 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = eve
        .put(
            &format!("/api/v1/api-keys/{key_id}/spend-cap"),
            json!({ "monthly_credits": 0 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_database_refuses_overdrafts_unbalanced_movements_and_edits() {
    let app = TestApp::spawn().await;
    let (mut bob, _) = Browser::sign_up(&app, "bob@example.com", "Bob").await;
    assert_eq!(wallet(&mut bob).await["balance"], 100);
    let mut conn = app.sql().await;
    let wallet_id = "(SELECT id FROM ledger_accounts WHERE kind = 'wallet' LIMIT 1)";
    let attempts = [
        // Spending 101 of 100.
        format!(
            "WITH t AS (INSERT INTO ledger_transactions (idempotency_key, kind) \
             VALUES ('overdraft', 'grant') RETURNING id) \
             INSERT INTO ledger_entries (transaction_id, account_id, amount) \
             SELECT t.id, a, x FROM t, (VALUES ({wallet_id}, -101::bigint), \
             ((SELECT id FROM ledger_accounts WHERE kind = 'grants'), 101::bigint)) v (a, x)"
        ),
        // Credits out of nowhere.
        format!(
            "WITH t AS (INSERT INTO ledger_transactions (idempotency_key, kind) \
             VALUES ('unbalanced', 'grant') RETURNING id) \
             INSERT INTO ledger_entries (transaction_id, account_id, amount) \
             SELECT t.id, {wallet_id}, 5 FROM t"
        ),
        "UPDATE ledger_entries SET amount = amount + 1".to_owned(),
        "DELETE FROM ledger_transactions".to_owned(),
    ];
    for sql in attempts {
        let result = diesel::sql_query(&sql).execute(&mut conn).await;
        assert!(result.is_err(), "the database took: {sql}");
    }
    #[derive(diesel::QueryableByName)]
    struct Kind {
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let kinds: Vec<Kind> = diesel::sql_query("SELECT kind FROM ledger_transactions")
        .load(&mut conn)
        .await
        .expect("reading the ledger");
    assert!(kinds.iter().all(|k| k.kind == "starter"));
    assert_eq!(wallet(&mut bob).await["balance"], 100);
}
