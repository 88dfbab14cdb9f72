//! The deployment and run pages' server functions over real HTTP: for the
//! same caller each answers what its REST endpoint answers (status and
//! body; an error is the REST envelope's `error`), anonymous callers get
//! 401 and callers of another workspace 404.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::browser::Browser;
use crate::support::server_fn::{call, post, read, same_error};

fn example_input() -> Value {
    let example: Value = serde_json::from_str(include_str!(
        "../../../agents/launch/analytics/example.json"
    ))
    .expect("the example");
    example["input"].clone()
}

#[tokio::test]
async fn strangers_and_anonymous_callers_are_refused_as_by_the_rest_api() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let (status, created) = ada
        .post("/api/v1/deployments", json!({ "agent": "analytics" }))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let rest_path = format!("/api/v1/deployments/{id}");

    // The owner reads it as the REST API shows it.
    let (status, from_fn) = read(&mut ada, "get_deployment", &format!("id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{from_fn}");
    let (_, from_rest) = ada.get(&rest_path).await;
    assert_eq!(from_fn, from_rest);
    let (status, listed) = read(&mut ada, "list_deployments", "").await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let (_, rest_list) = ada.get("/api/v1/deployments").await;
    assert_eq!(listed, rest_list["items"]);

    let run = json!({ "id": id, "run": { "request": { "input": {} } } });
    let calls = [
        ("get_deployment", Method::GET, rest_path.clone()),
        ("stop_deployment", Method::POST, format!("{rest_path}/stop")),
        ("start_run", Method::POST, format!("{rest_path}/runs")),
    ];
    for (name, method, rest) in calls {
        let args = if name == "start_run" {
            run.clone()
        } else {
            json!({ "id": id })
        };
        let rest_body = (method == Method::POST).then(|| json!({ "input": {} }));
        let query = format!("id={id}");
        let read_query = (method == Method::GET).then_some(query.as_str());

        // Anonymous: 401, the same error.
        let mut nobody = Browser::new(&app);
        let (status, from_fn) = call(&mut nobody, name, read_query, args.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {from_fn}");
        let (status, from_rest) = nobody.json(method.clone(), &rest, rest_body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}: {from_rest}");
        same_error(&from_fn, &from_rest, "unauthenticated");

        // Another workspace's member: 404, as if there were no deployment.
        let (status, from_fn) = call(&mut eve, name, read_query, args).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}: {from_fn}");
        let (status, from_rest) = eve.json(method, &rest, rest_body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}: {from_rest}");
        same_error(&from_fn, &from_rest, "not_found");
    }

    // A POST without the session's CSRF token is refused, as on the REST API.
    let mut forgetful = ada.clone();
    forgetful.csrf = None;
    let (status, refused) = post(&mut forgetful, "stop_deployment", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

#[tokio::test]
async fn runs_and_acts_answer_as_the_rest_api_does() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;
    let rest_path = format!("/api/v1/deployments/{id}");
    let input = example_input();

    // A synchronous run from the page: 200 with the finished run; the same
    // idempotency key on the REST API answers the same run.
    let (status, run) = post(
        &mut ada,
        "start_run",
        json!({ "id": id, "run": { "request": { "input": input }, "idempotency_key": "order-1" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{run}");
    assert_eq!(
        (&run["status"], &run["trigger"]),
        (&"succeeded".into(), &"ui".into()),
        "{run}"
    );
    let response = ada
        .send(
            Method::POST,
            &format!("{rest_path}/runs"),
            Some(json!({ "input": input })),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let unkeyed: Value = response.json().await.expect("json");
    assert_ne!(unkeyed["id"], run["id"], "no key: a second run");
    let mut rest = app
        .http
        .post(app.url(&format!("{rest_path}/runs")))
        .header(reqwest::header::ORIGIN, &app.base_url)
        .header("idempotency-key", "order-1")
        .json(&json!({ "input": input }));
    if let (Some(cookie), Some(csrf)) = (&ada.cookie, &ada.csrf) {
        rest = rest
            .header(reqwest::header::COOKIE, cookie)
            .header("x-csrf-token", csrf);
    }
    let again: Value = rest
        .send()
        .await
        .expect("a run")
        .json()
        .await
        .expect("json");
    assert_eq!(again, run, "the same key: the same run");

    // Asynchronously: 202 at once with the queued run.
    let (status, queued) = post(
        &mut ada,
        "start_run",
        json!({ "id": id, "run": { "request": { "input": input, "mode": "async" } } }),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let queued_id = queued["id"].as_str().expect("id").to_owned();
    for _ in 0..400 {
        let (_, shown) = ada.get(&format!("/api/v1/runs/{queued_id}")).await;
        if !matches!(shown["status"].as_str(), Some("queued" | "running")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The reads: a run, the deployment's runs, the feed, the metrics.
    let run_id = run["id"].as_str().expect("id");
    let reads = [
        (
            "get_run",
            format!("id={run_id}"),
            format!("/api/v1/runs/{run_id}"),
            false,
        ),
        (
            "list_runs",
            format!("id={id}"),
            format!("{rest_path}/runs"),
            true,
        ),
        (
            "list_runs",
            format!("id={id}&status=succeeded"),
            format!("{rest_path}/runs?status=succeeded"),
            true,
        ),
        (
            "recent_runs",
            String::new(),
            "/api/v1/runs".to_owned(),
            true,
        ),
        (
            "deployment_metrics",
            format!("id={id}&minutes=60"),
            format!("{rest_path}/metrics?minutes=60"),
            false,
        ),
    ];
    for (name, query, rest, listed) in reads {
        let (status, from_fn) = read(&mut ada, name, &query).await;
        assert_eq!(status, StatusCode::OK, "{name}: {from_fn}");
        let (_, from_rest) = ada.get(&rest).await;
        let from_rest = if listed {
            &from_rest["items"]
        } else {
            &from_rest
        };
        assert_eq!(&from_fn, from_rest, "{name}?{query}");
    }

    // Starting a running deployment changes nothing: both answer it, 202.
    let (status, from_fn) = post(&mut ada, "start_deployment", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{from_fn}");
    let (status, from_rest) = ada.post_empty(&format!("{rest_path}/start")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{from_rest}");
    assert_eq!(from_fn, from_rest);

    // Stopping: 202 with the deployment on its way down, then stopped.
    let (status, stopping) = post(&mut ada, "stop_deployment", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stopping}");
    assert_eq!(stopping["status"], "stopping", "{stopping}");
    let mut stopped = Value::Null;
    for _ in 0..400 {
        let (_, shown) = ada.get(&rest_path).await;
        if shown["status"] == "stopped" {
            stopped = shown;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(stopped["status"], "stopped", "{stopped}");
    // Stopping it again changes nothing: both answer the same. (The stop
    // job may still add a timeline line after `stopped`, moving the topic's
    // `event_seq`, so that cursor is left out of the comparison.)
    let (status, from_fn) = post(&mut ada, "stop_deployment", json!({ "id": id })).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{from_fn}");
    let (_, from_rest) = ada.post_empty(&format!("{rest_path}/stop")).await;
    let without_cursor = |mut deployment: Value| {
        deployment["event_seq"] = Value::Null;
        deployment
    };
    assert_eq!(without_cursor(from_fn.clone()), without_cursor(from_rest));
    assert_eq!(without_cursor(from_fn), without_cursor(stopped));

    // A run of a stopped deployment is refused alike.
    let (status, from_fn) = post(
        &mut ada,
        "start_run",
        json!({ "id": id, "run": { "request": { "input": input } } }),
    )
    .await;
    let (rest_status, from_rest) = ada
        .post(&format!("{rest_path}/runs"), json!({ "input": input }))
        .await;
    assert_eq!(status, rest_status, "{from_fn} vs {from_rest}");
    assert!(status.is_client_error(), "{from_fn}");
    let code = from_rest["error"]["code"]
        .as_str()
        .expect("code")
        .to_owned();
    same_error(&from_fn, &from_rest, &code);
}

#[tokio::test]
async fn a_team_viewer_reads_but_may_not_act_as_on_the_rest_api() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (mut vic, _) = Browser::sign_up(&app, "vic@example.com", "Vic").await;
    let (status, team) = ada
        .post("/api/v1/teams", json!({ "name": "Acme", "slug": "acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{team}");
    let (status, invite) = ada
        .post(
            "/api/v1/teams/acme/invites",
            json!({ "email": "vic@example.com", "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let token = invite["link"]
        .as_str()
        .and_then(|link| link.rsplit('/').next())
        .expect("invite link");
    let accept = format!("/api/v1/invites/{token}/accept");
    let (status, joined) = vic.post_empty(&accept).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let (status, created) = ada
        .post(
            "/api/v1/deployments",
            json!({ "agent": "analytics", "workspace": "acme" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let rest_path = format!("/api/v1/deployments/{id}");

    let (status, from_fn) = read(&mut vic, "get_deployment", &format!("id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{from_fn}");
    let (_, from_rest) = vic.get(&rest_path).await;
    assert_eq!(from_fn, from_rest);

    let refused = [
        ("stop_deployment", json!({ "id": id }), "stop", None),
        (
            "change_deployment_config",
            json!({ "id": id, "config": { "region": "eu" } }),
            "config",
            Some(json!({ "region": "eu" })),
        ),
        (
            "start_run",
            json!({ "id": id, "run": { "request": { "input": {} } } }),
            "runs",
            Some(json!({ "input": {} })),
        ),
    ];
    for (name, args, rest, body) in refused {
        let (status, from_fn) = post(&mut vic, name, args).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {from_fn}");
        let method = if rest == "config" {
            Method::PUT
        } else {
            Method::POST
        };
        let (status, from_rest) = vic.json(method, &format!("{rest_path}/{rest}"), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {from_rest}");
        let code = from_rest["error"]["code"]
            .as_str()
            .expect("code")
            .to_owned();
        same_error(&from_fn, &from_rest, &code);
    }

    // The owner's change goes through and shows on the REST API.
    let (status, changed) = post(
        &mut ada,
        "change_deployment_config",
        json!({ "id": id, "config": { "region": "eu" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["config"], json!({ "region": "eu" }));
    let (_, shown) = ada.get(&rest_path).await;
    assert_eq!(changed, shown);
}

/// What a JSON body could carry that a REST header or body could not is
/// refused the same way: an idempotency key with control characters, and a
/// spend cap that does not name `monthly_credits` (never read as "no cap").
#[tokio::test]
async fn bodies_are_held_to_what_the_rest_api_accepts() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (id, _) = crate::support::deploy_running(&mut ada, json!({ "agent": "analytics" })).await;

    let args = json!({ "id": id, "run": { "request": { "input": example_input() }, "idempotency_key": "a\u{0}b" } });
    let (status, error) = post(&mut ada, "start_run", args).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["field"], "idempotency_key", "{error}");

    let (status, capped) = post(
        &mut ada,
        "change_deployment_spend_cap",
        json!({ "id": id, "cap": { "monthly_credits": 7 } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{capped}");
    for cap in [json!({}), json!({ "monthly_credit": null })] {
        let (status, error) = post(
            &mut ada,
            "change_deployment_spend_cap",
            json!({ "id": id, "cap": cap }),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{cap}: {error}");
        assert_eq!(error["code"], "invalid_request", "{error}");
    }
    let (_, deployment) = ada.get(&format!("/api/v1/deployments/{id}")).await;
    assert_eq!(deployment["spend_cap_credits"], 7, "{deployment}");
}
