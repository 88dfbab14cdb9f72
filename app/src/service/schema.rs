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
    }
}

diesel::joinable!(agents -> users (owner_user_id));
diesel::joinable!(agent_versions -> agents (agent_id));
diesel::allow_tables_to_appear_in_same_query!(users, agents, agent_versions);
