-- "See you tomorrow" emails: one per family per day, however many processes look.
create table booking_reminders (
    parent_id           bigint not null references users (id) on delete cascade,
    for_date            date not null,
    sent_at             timestamptz not null default now(),
    primary key (parent_id, for_date)
);
