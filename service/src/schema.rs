//! Diesel table definitions, kept by hand in step with `migrations/`.
//! Generated columns (`agents.search`) are left out and used through SQL.

diesel::table! {
    users (id) {
        id -> Uuid,
        handle -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        password_hash -> Nullable<Text>,
        email_verified -> Bool,
        github_id -> Nullable<Int8>,
        is_admin -> Bool,
        credentials_epoch -> Int4,
    }
}

diesel::table! {
    agents (id) {
        id -> Uuid,
        slug -> Text,
        owner_user_id -> Uuid,
        name -> Text,
        summary -> Text,
        readme -> Text,
        category -> Text,
        tags -> Array<Text>,
        icon -> Text,
        visibility -> Text,
        price_credits -> Int8,
        rating_total -> Int8,
        rating_count -> Int4,
        runs_count -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        workspace_id -> Uuid,
        published_at -> Nullable<Timestamptz>,
        runs_succeeded -> Int8,
        forked_from -> Nullable<Uuid>,
        source_public -> Bool,
        free_tries -> Int4,
        archived_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    agent_versions (id) {
        id -> Uuid,
        agent_id -> Uuid,
        version -> Text,
        version_major -> Int4,
        version_minor -> Int4,
        version_patch -> Int4,
        source_kind -> Text,
        source -> Nullable<Text>,
        artifact_hash -> Nullable<Text>,
        manifest -> Jsonb,
        changelog -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        readme -> Text,
        example_input -> Text,
    }
}

diesel::table! {
    agent_drafts (agent_id) {
        agent_id -> Uuid,
        name -> Text,
        summary -> Text,
        readme -> Text,
        category -> Text,
        tags -> Array<Text>,
        icon -> Text,
        price_credits -> Int8,
        source -> Text,
        manifest -> Jsonb,
        example_input -> Text,
        revision -> Int8,
        updated_by -> Uuid,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agent_reviews (id) {
        id -> Uuid,
        agent_id -> Uuid,
        user_id -> Uuid,
        rating -> Int2,
        body -> Text,
        reply -> Nullable<Text>,
        reply_by -> Nullable<Uuid>,
        replied_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        csrf_token -> Text,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        ip -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    workspaces (id) {
        id -> Uuid,
        kind -> Text,
        slug -> Text,
        name -> Text,
        personal_user_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workspace_members (workspace_id, user_id) {
        workspace_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    workspace_invites (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        accepted_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        user_id -> Uuid,
        workspace_id -> Uuid,
        name -> Text,
        prefix -> Text,
        token_hash -> Bytea,
        scopes -> Array<Text>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        spend_cap_credits -> Nullable<Int8>,
        made_by_key_id -> Nullable<Uuid>,
        oauth_client_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    oauth_clients (id) {
        id -> Uuid,
        client_id -> Text,
        secret_hash -> Nullable<Bytea>,
        client_name -> Text,
        redirect_uris -> Array<Text>,
        auth_method -> Text,
        application_type -> Text,
        registered_ip -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    oauth_requests (id) {
        id -> Uuid,
        client_id -> Uuid,
        redirect_uri -> Text,
        state -> Nullable<Text>,
        code_challenge -> Text,
        resource -> Text,
        scope -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        status -> Text,
        user_id -> Nullable<Uuid>,
        workspace_id -> Nullable<Uuid>,
        code_hash -> Nullable<Bytea>,
        code_expires_at -> Nullable<Timestamptz>,
        key_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    oauth_tokens (token_hash) {
        token_hash -> Bytea,
        kind -> Text,
        key_id -> Uuid,
        resource -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    device_grants (id) {
        id -> Uuid,
        device_code_hash -> Bytea,
        user_code -> Text,
        client_name -> Text,
        scopes -> Array<Text>,
        requested_ip -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        interval_s -> Int4,
        polled_at -> Nullable<Timestamptz>,
        status -> Text,
        user_id -> Nullable<Uuid>,
        workspace_id -> Nullable<Uuid>,
        granted_scopes -> Nullable<Array<Text>>,
        decided_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        occurred_at -> Timestamptz,
        action -> Text,
        actor_user_id -> Nullable<Uuid>,
        actor_key_id -> Nullable<Uuid>,
        workspace_id -> Nullable<Uuid>,
        target_type -> Text,
        target_id -> Text,
        ip -> Text,
        user_agent -> Text,
        details -> Jsonb,
    }
}

diesel::table! {
    oauth_flows (id) {
        id -> Uuid,
        browser_hash -> Bytea,
        provider -> Text,
        state -> Text,
        pkce_verifier -> Text,
        return_to -> Text,
        link_user_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        link_session_id -> Nullable<Uuid>,
    }
}

diesel::joinable!(deployments -> agents (agent_id));
diesel::joinable!(deployments -> agent_versions (version_id));
diesel::table! {
    account_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        email -> Text,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(account_tokens -> users (user_id));
diesel::joinable!(agents -> users (owner_user_id));
diesel::joinable!(agents -> workspaces (workspace_id));
diesel::joinable!(agent_versions -> agents (agent_id));
diesel::joinable!(agent_drafts -> agents (agent_id));
diesel::joinable!(agent_reviews -> agents (agent_id));
diesel::joinable!(agent_reviews -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(ledger_entries -> ledger_accounts (account_id));
diesel::joinable!(workspace_members -> workspaces (workspace_id));
diesel::joinable!(workspace_members -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(workspace_invites -> workspaces (workspace_id));
diesel::table! {
    agent_kv (deployment_id, key) {
        deployment_id -> Uuid,
        key -> Text,
        value -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        kind -> Text,
        payload -> Jsonb,
        priority -> Int2,
        state -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        giving_up -> Bool,
        run_at -> Timestamptz,
        worker -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        unique_key -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    deployments (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        agent_id -> Uuid,
        version_id -> Uuid,
        name -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        generation -> Int4,
        config -> Jsonb,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
        spend_cap_credits -> Nullable<Int8>,
        runs_running -> Int4,
    }
}

diesel::table! {
    event_topics (topic) {
        topic -> Text,
        last_seq -> Int8,
    }
}

diesel::table! {
    runs (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        workspace_id -> Uuid,
        status -> Text,
        trigger -> Text,
        input -> Jsonb,
        output -> Nullable<Jsonb>,
        error -> Nullable<Jsonb>,
        logs -> Jsonb,
        logs_truncated -> Bool,
        duration_us -> Nullable<Int8>,
        fuel_used -> Nullable<Int8>,
        peak_memory_bytes -> Nullable<Int8>,
        runner -> Nullable<Text>,
        lease_until -> Nullable<Timestamptz>,
        cancel_requested -> Bool,
        idempotency_key -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        api_key_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        price_credits -> Int8,
        charged_credits -> Int8,
        llm_calls -> Int4,
        llm_input_tokens -> Int8,
        llm_output_tokens -> Int8,
        llm_credits -> Int8,
        trigger_details -> Nullable<Jsonb>,
        embed_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    spend_months (scope, owner, month) {
        scope -> Text,
        owner -> Uuid,
        month -> Date,
        spent -> Int8,
        cap -> Nullable<Int8>,
    }
}

diesel::table! {
    billing_checkouts (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        provider_id -> Nullable<Text>,
        url -> Nullable<Text>,
        credits -> Int8,
        amount_cents -> Int8,
        currency -> Text,
        status -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        paid_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    billing_webhook_events (event_id) {
        event_id -> Text,
        #[sql_name = "type"]
        kind -> Text,
        handled -> Bool,
        received_at -> Timestamptz,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> Uuid,
        kind -> Text,
        workspace_id -> Nullable<Uuid>,
        balance -> Int8,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> Int8,
        idempotency_key -> Text,
        kind -> Text,
        workspace_id -> Nullable<Uuid>,
        run_id -> Nullable<Uuid>,
        agent_id -> Nullable<Uuid>,
        memo -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        trial_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> Int8,
        transaction_id -> Int8,
        account_id -> Uuid,
        amount -> Int8,
    }
}

diesel::table! {
    deployment_secrets (deployment_id, name) {
        deployment_id -> Uuid,
        name -> Text,
        nonce -> Bytea,
        ciphertext -> Bytea,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    trial_runs (id) {
        id -> Uuid,
        kind -> Text,
        agent_id -> Uuid,
        user_id -> Nullable<Uuid>,
        workspace_id -> Uuid,
        price_credits -> Int8,
        free_try -> Bool,
        status -> Text,
        llm_calls -> Int4,
        llm_input_tokens -> Int8,
        llm_output_tokens -> Int8,
        llm_credits -> Int8,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(oauth_requests -> oauth_clients (client_id));
diesel::joinable!(oauth_tokens -> api_keys (key_id));

diesel::table! {
    schedules (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        workspace_id -> Uuid,
        created_by -> Uuid,
        name -> Text,
        cron -> Nullable<Text>,
        time_zone -> Text,
        every_seconds -> Nullable<Int8>,
        input -> Jsonb,
        enabled -> Bool,
        overlap -> Text,
        catch_up -> Text,
        next_at -> Nullable<Timestamptz>,
        last_slot -> Nullable<Timestamptz>,
        last_run_id -> Nullable<Uuid>,
        last_outcome -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(schedules -> deployments (deployment_id));

diesel::table! {
    hooks (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        workspace_id -> Uuid,
        created_by -> Uuid,
        name -> Text,
        token_hash -> Bytea,
        token_prefix -> Text,
        verify -> Text,
        secret -> Nullable<Bytea>,
        allowed_headers -> Array<Text>,
        per_minute -> Int4,
        max_body_bytes -> Int4,
        enabled -> Bool,
        last_used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(hooks -> deployments (deployment_id));

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        deployment_id -> Nullable<Uuid>,
        ordered -> Bool,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Bytea,
        previous_secret -> Nullable<Bytea>,
        previous_until -> Nullable<Timestamptz>,
        failing_since -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_events (id) {
        id -> Text,
        workspace_id -> Uuid,
        #[sql_name = "type"]
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        endpoint_id -> Uuid,
        event_id -> Text,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        last_status -> Nullable<Int4>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Int8,
        delivery_id -> Int8,
        attempt -> Int4,
        started_at -> Timestamptz,
        duration_ms -> Int4,
        status -> Nullable<Int4>,
        error -> Nullable<Text>,
        response_body -> Nullable<Text>,
        request_headers -> Jsonb,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_deliveries -> webhook_events (event_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));

diesel::table! {
    embeds (id) {
        id -> Uuid,
        deployment_id -> Uuid,
        workspace_id -> Uuid,
        created_by -> Uuid,
        name -> Text,
        allowed_origins -> Array<Text>,
        development -> Bool,
        input -> Text,
        look -> Jsonb,
        per_visitor_minute -> Int4,
        per_visitor_day -> Int4,
        per_embed_minute -> Int4,
        daily_cap_credits -> Nullable<Int8>,
        secret -> Bytea,
        enabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    embed_sessions (id) {
        id -> Uuid,
        embed_id -> Uuid,
        visitor -> Text,
        site_user -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    embed_messages (id) {
        id -> Uuid,
        session_id -> Uuid,
        text -> Text,
        run_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    embed_views (embed_id, day) {
        embed_id -> Uuid,
        day -> Date,
        views -> Int8,
    }
}

diesel::joinable!(embeds -> deployments (deployment_id));
diesel::joinable!(embed_sessions -> embeds (embed_id));
diesel::joinable!(embed_messages -> embed_sessions (session_id));
diesel::joinable!(embed_messages -> runs (run_id));

diesel::table! {
    connections (id) {
        id -> Uuid,
        workspace_id -> Uuid,
        provider -> Text,
        owner_id -> Uuid,
        account_id -> Text,
        account_name -> Text,
        scopes -> Array<Text>,
        params -> Jsonb,
        credential -> Bytea,
        credential_version -> Int8,
        expires_at -> Nullable<Timestamptz>,
        status -> Text,
        broken_reason -> Nullable<Text>,
        broken_at -> Nullable<Timestamptz>,
        refreshed_at -> Nullable<Timestamptz>,
        refusal_refresh_at -> Nullable<Timestamptz>,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    connection_flows (id) {
        id -> Uuid,
        browser_hash -> Bytea,
        state -> Text,
        pkce_verifier -> Nullable<Text>,
        workspace_id -> Uuid,
        user_id -> Uuid,
        session_id -> Uuid,
        provider -> Text,
        scopes -> Array<Text>,
        params -> Jsonb,
        return_to -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    deployment_connections (deployment_id, provider) {
        deployment_id -> Uuid,
        provider -> Text,
        connection_id -> Uuid,
        version_id -> Uuid,
        scopes -> Array<Text>,
        bound_by -> Nullable<Uuid>,
        bound_at -> Timestamptz,
    }
}

diesel::joinable!(connections -> users (owner_id));
diesel::joinable!(deployment_connections -> connections (connection_id));
diesel::joinable!(deployment_connections -> deployments (deployment_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    trial_runs,
    account_tokens,
    agents,
    agent_versions,
    agent_drafts,
    agent_reviews,
    sessions,
    workspaces,
    workspace_members,
    workspace_invites,
    api_keys,
    audit_events,
    oauth_flows,
    agent_kv,
    jobs,
    deployments,
    runs,
    deployment_secrets,
    ledger_accounts,
    billing_checkouts,
    billing_webhook_events,
    spend_months,
    ledger_transactions,
    ledger_entries,
    oauth_clients,
    oauth_requests,
    oauth_tokens,
    schedules,
    hooks,
    webhook_endpoints,
    webhook_events,
    webhook_deliveries,
    webhook_attempts,
    embeds,
    embed_sessions,
    embed_messages,
    embed_views,
    connections,
    connection_flows,
    deployment_connections,
);
