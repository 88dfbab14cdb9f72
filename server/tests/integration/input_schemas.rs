//! Input and output schemas in the manifest: checked when saved, the
//! example checked when published, and every way of starting a run
//! (REST, the page's server function, a try, a test run) refuses an input
//! its schema refuses with 422 and the JSON path, before any sandbox work.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::browser::Browser;
use crate::support::server_fn::post;
use crate::support::{TestApp, deploy_running, error_of, publish_agent};

fn input_schema(most_times: u32) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "description": "Who to greet"},
            "times": {"type": "integer", "minimum": 1, "maximum": most_times},
            "tags": {"type": "array", "items": {"type": "string"}}
        },
        "required": ["name"]
    })
}

/// The 422 of a refused input: its field and every problem's path.
fn refusal(body: &Value) -> (String, Vec<String>) {
    let error = error_of(body, "invalid_parameter");
    let paths = error["problems"]
        .as_array()
        .map(|problems| {
            problems
                .iter()
                .filter_map(|problem| problem["path"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (
        error["field"].as_str().unwrap_or_default().to_owned(),
        paths,
    )
}

/// Saves `slug`'s draft as it stands but for what `edit` changes in the
/// body `PUT …/draft` takes; the answer.
async fn save_draft(
    browser: &mut Browser,
    slug: &str,
    edit: impl FnOnce(&mut Value),
) -> (StatusCode, Value) {
    let path = format!("/api/v1/agents/{slug}/draft");
    let (_, draft) = browser.get(&path).await;
    let mut body = json!({ "revision": draft["revision"], "listing": draft["listing"],
                           "readme": draft["readme"], "source": draft["source"],
                           "manifest": draft["manifest"], "example_input": draft["example_input"] });
    edit(&mut body);
    browser.put(&path, body).await
}

/// Publishes `slug`'s saved draft as `version`; the answer.
async fn publish(browser: &mut Browser, slug: &str, version: &str) -> (StatusCode, Value) {
    browser
        .post(
            &format!("/api/v1/agents/{slug}/versions"),
            json!({ "version": version }),
        )
        .await
}

async fn runs_of(browser: &mut Browser, id: &str) -> usize {
    let (status, runs) = browser.get(&format!("/api/v1/deployments/{id}/runs")).await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    runs["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn every_way_to_start_a_run_checks_the_input_first() {
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let slug = publish_agent(&mut ada, "Greeter", |body| {
        body["manifest"]["input_schema"] = input_schema(3);
        body["manifest"]["output_schema"] = json!({
            "type": "object",
            "properties": {"greeting": {"type": "string"}, "mood": {"type": "string"}},
            "required": ["greeting", "mood"]
        });
        body["example_input"] = json!("{\"name\": \"Ada\"}");
    })
    .await;
    // Kept with the version, shown with it.
    let (_, version) = ada
        .get(&format!("/api/v1/agents/{slug}/versions/1.0.0"))
        .await;
    assert_eq!(
        version["manifest"]["input_schema"],
        input_schema(3),
        "{version}"
    );
    let (id, _) = deploy_running(&mut ada, json!({ "agent": slug })).await;
    let runs_path = format!("/api/v1/deployments/{id}/runs");

    // REST: each bad field by its path, nothing recorded; twice, so the
    // second refusal comes after the schema is kept in memory.
    let bad = json!({"times": 9, "tags": ["a", 2], "extra": true});
    for _ in 0..2 {
        let (status, body) = ada.post(&runs_path, json!({ "input": bad })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(
            refusal(&body),
            (
                "input.name".to_owned(),
                vec![
                    "input.name".to_owned(),
                    "input.tags[1]".into(),
                    "input.times".into()
                ]
            ),
            "{body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("input.name: is required")),
            "{body}"
        );
    }
    // Not an object at all.
    let (status, body) = ada.post(&runs_path, json!({ "input": "Ada" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(refusal(&body).0, "input");
    assert_eq!(
        runs_of(&mut ada, &id).await,
        0,
        "no refused input became a run"
    );

    // A good input runs, by the fast path once the schema is kept.
    for _ in 0..2 {
        let (status, run) = ada
            .post(&runs_path, json!({ "input": {"name": "Ada", "times": 2} }))
            .await;
        assert_eq!(status, StatusCode::OK, "{run}");
        assert_eq!(run["status"], "succeeded", "{run}");
    }
    // Asynchronous runs are checked the same way.
    let (status, body) = ada
        .post(&runs_path, json!({ "input": {}, "mode": "async" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The page's server function answers the same refusal.
    let (status, from_fn) = post(
        &mut ada,
        "start_run",
        json!({ "id": id, "run": { "request": { "input": bad } } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{from_fn}");
    assert_eq!(from_fn["field"], "input.name", "{from_fn}");
    assert_eq!(from_fn["problems"].as_array().map(Vec::len), Some(3));
    assert_eq!(runs_of(&mut ada, &id).await, 2);

    // A stranger holding the deployment's id learns nothing of its schema:
    // 404 whatever the input.
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    for input in [json!({}), json!({"name": "Eve"})] {
        let (status, body) = eve.post(&runs_path, json!({ "input": input })).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }

    // A try and a test run: the same check, before any sandbox work.
    let (status, body) = ada
        .post(
            &format!("/api/v1/agents/{slug}/try"),
            json!({ "input": "{\"times\": 0}" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        refusal(&body).1,
        vec!["input.name".to_owned(), "input.times".into()]
    );
    let (_, draft) = ada.get(&format!("/api/v1/agents/{slug}/draft")).await;
    let test_run = |input: &str| json!({ "source": draft["source"], "manifest": draft["manifest"], "input": input });
    let test_path = format!("/api/v1/agents/{slug}/test-runs");
    let (status, body) = ada.post(&test_path, test_run("{\"name\": \"\"}")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(refusal(&body).0, "input.name");
    // An output its schema does not describe is said, not refused.
    let (status, report) = ada.post(&test_path, test_run("{\"name\": \"Ada\"}")).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert!(report["output"].is_string(), "{report}");
    assert_eq!(
        report["output_problems"],
        json!([{"path": "output.mood", "message": "is required"}]),
        "{report}"
    );

    // A new version with a stricter schema, redeployed: the schema kept in
    // memory for the old version does not let the old limit through.
    let (status, saved) = save_draft(&mut ada, &slug, |body| {
        body["manifest"]["input_schema"] = input_schema(1);
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, published) = publish(&mut ada, &slug, "1.1.0").await;
    assert_eq!(status, StatusCode::CREATED, "{published}");
    let (status, redeployed) = ada
        .post(
            &format!("/api/v1/deployments/{id}/redeploy"),
            json!({ "version": "1.1.0" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{redeployed}");
    for _ in 0..600 {
        let (_, shown) = ada.get(&format!("/api/v1/deployments/{id}")).await;
        if shown["status"] == "running" && shown["version"] == "1.1.0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, body) = ada
        .post(&runs_path, json!({ "input": {"name": "Ada", "times": 2} }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(refusal(&body).0, "input.times");
}

#[tokio::test]
async fn schemas_outside_the_subset_and_examples_that_miss_are_refused_by_name() {
    let app = TestApp::spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    let (status, created) = ada
        .post("/api/v1/agents", json!({ "name": "Strict" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let slug = created["slug"].as_str().expect("slug").to_owned();
    let draft_path = format!("/api/v1/agents/{slug}/draft");
    let save = async |ada: &mut Browser, manifest: Value, example: &str| {
        save_draft(ada, &slug, |body| {
            body["manifest"] = manifest;
            body["example_input"] = json!(example);
        })
        .await
    };
    for (schema, field, says) in [
        (
            json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}}),
            "manifest.input_schema",
            "properties.a.$ref: `$ref` is not in the supported subset",
        ),
        (
            json!({"type": "strin"}),
            "manifest.input_schema",
            "type: each type is one of",
        ),
        (
            json!({"pattern": "(unclosed"}),
            "manifest.input_schema",
            "pattern: is not a regular expression",
        ),
    ] {
        let (status, body) = save(&mut ada, json!({ "input_schema": schema }), "{}").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error = error_of(&body, "invalid_parameter");
        assert_eq!(error["field"], field, "{body}");
        assert!(
            error["message"].as_str().is_some_and(|m| m.contains(says)),
            "{body}"
        );
    }
    let (status, body) = save(
        &mut ada,
        json!({ "output_schema": {"type": "object", "required": "greeting"} }),
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_of(&body, "invalid_parameter")["field"],
        "manifest.output_schema"
    );

    // A stranger's manifest is never compiled: who may edit is asked
    // first (404 here, not a 422 naming the schema's fault).
    let (mut eve, _) = Browser::sign_up(&app, "eve@example.com", "Eve").await;
    let hostile = json!({ "input_schema": {"pattern": "(?:a{200}){1000}"} });
    let (status, body) = eve
        .post(
            &format!("/api/v1/agents/{slug}/test-runs"),
            json!({ "source": "", "manifest": hostile, "input": "{}" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = eve
        .put(
            &draft_path,
            json!({ "revision": 1, "listing": {"name": "x", "summary": "", "icon": "",
                    "category": "content", "tags": [], "price_credits": 0},
                    "readme": "", "source": "", "manifest": hostile, "example_input": "" }),
        )
        .await;
    assert!(
        status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
        "{status} {body}"
    );
    // The author's own is refused by size.
    let (status, body) = save(&mut ada, hostile, "{}").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        error_of(&body, "invalid_parameter")["field"],
        "manifest.input_schema"
    );

    // A draft may hold an example its schema refuses (work in progress);
    // publishing it is refused, naming the example.
    let (status, saved) = save(
        &mut ada,
        json!({ "input_schema": input_schema(3) }),
        "{\"times\": 2}",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, body) = publish(&mut ada, &slug, "1.0.0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let error = error_of(&body, "invalid_parameter");
    assert_eq!(error["field"], "example_input", "{body}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("example_input.name: is required")),
        "{body}"
    );
}

/// A queued run is checked again against the version that runs it: a
/// redeploy to a stricter schema while it waited fails it as
/// `invalid_input` instead of running the new version on an input it
/// refuses.
#[tokio::test]
async fn a_queued_run_meets_the_schema_of_the_version_that_runs_it() {
    use diesel_async::RunQueryDsl as _;
    let app = TestApp::builder().workers().spawn().await;
    let (mut ada, _) = Browser::sign_up(&app, "ada@example.com", "Ada").await;
    // 1.0.0 takes any JSON.
    let slug = publish_agent(&mut ada, "Loose", |_| {}).await;
    let (id, _) = deploy_running(&mut ada, json!({ "agent": slug })).await;
    // 1.1.0 asks for an email.
    let (status, saved) = save_draft(&mut ada, &slug, |body| {
        body["manifest"]["input_schema"] = json!({"type": "object", "required": ["email"]});
        body["example_input"] = json!("{\"email\": \"a@b.c\"}");
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let (status, _) = publish(&mut ada, &slug, "1.1.0").await;
    assert_eq!(status, StatusCode::CREATED);

    // The deployment is busy, so the queued run waits for a later claim.
    let mut sql = app.sql().await;
    diesel::sql_query("UPDATE deployments SET runs_running = 8 WHERE id = $1::uuid")
        .bind::<diesel::sql_types::Text, _>(&id)
        .execute(&mut sql)
        .await
        .expect("busy");
    let (status, queued) = ada
        .post(
            &format!("/api/v1/deployments/{id}/runs"),
            json!({ "input": {"name": "Ada"}, "mode": "async" }),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let run = queued["id"].as_str().expect("id").to_owned();
    // Meanwhile the deployment moves to 1.1.0 (as a redeploy's last step
    // does) and has room again.
    diesel::sql_query(
        "UPDATE deployments d SET runs_running = 0, version_id = v.id \
         FROM agent_versions v WHERE d.id = $1::uuid AND v.agent_id = d.agent_id \
           AND v.version_major = 1 AND v.version_minor = 1",
    )
    .bind::<diesel::sql_types::Text, _>(&id)
    .execute(&mut sql)
    .await
    .expect("moved to 1.1.0");
    diesel::sql_query("UPDATE jobs SET run_at = now() WHERE payload->>'run' = $1")
        .bind::<diesel::sql_types::Text, _>(&run)
        .execute(&mut sql)
        .await
        .expect("due now");
    let mut shown = Value::Null;
    for _ in 0..400 {
        let (_, run) = ada.get(&format!("/api/v1/runs/{run}")).await;
        if !matches!(run["status"].as_str(), Some("queued" | "running")) {
            shown = run;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["error"]["code"], "invalid_input", "{shown}");
    assert!(
        shown["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("input.email: is required")),
        "{shown}"
    );
}
