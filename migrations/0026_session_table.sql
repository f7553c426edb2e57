-- The session store's table, as tower-sessions-sqlx-store creates it at start, written
-- here too so the migrations alone describe every table our queries read: the schema
-- database that checks the queries at compile time is made from this folder.
create schema if not exists tower_sessions;

create table if not exists tower_sessions.session (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);
