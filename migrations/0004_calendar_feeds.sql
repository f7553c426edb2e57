-- Secret links to a user's calendar (a family's bookings, a trainer's shifts). The
-- token is the only credential a calendar app can hold, so it can be reset.
create table calendar_feeds (
    user_id             bigint primary key references users (id) on delete cascade,
    token               text not null,
    created_at          timestamptz not null default now(),
    constraint calendar_feeds_token_key unique (token)
);
