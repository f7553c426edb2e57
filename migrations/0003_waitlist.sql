-- Waitlists: a full session offers "Join waitlist"; when a place frees, the first
-- waiting child is offered it for a while, with the place held for them.

alter table activities
    add column waitlist_offer_hours integer not null default 24,
    add constraint activities_waitlist_offer_hours_positive check (waitlist_offer_hours > 0);

-- Places held for open waitlist offers count against capacity like booked ones.
alter table sessions
    add column places_offered integer not null default 0,
    add constraint sessions_places_offered_not_negative check (places_offered >= 0),
    drop constraint sessions_capacity_not_exceeded,
    add constraint sessions_capacity_not_exceeded check (places_taken + places_offered <= capacity);

create table waitlist_entries (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id) on delete cascade,
    child_id            bigint not null references children (id) on delete cascade,
    parent_id           bigint not null references users (id) on delete cascade,
    status              text not null default 'waiting',
    offered_at          timestamptz,
    offer_expires_at    timestamptz,
    booking_id          bigint references bookings (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint waitlist_entries_status_known check (
        status in ('waiting', 'offered', 'claimed', 'expired', 'withdrawn')),
    constraint waitlist_entries_offer_has_expiry check (
        status <> 'offered' or offer_expires_at is not null)
);
select manage_updated_at('waitlist_entries');
create unique index waitlist_entries_one_per_child_session
    on waitlist_entries (session_id, child_id) where status in ('waiting', 'offered');
create index waitlist_entries_queue on waitlist_entries (session_id, created_at) where status = 'waiting';
create index waitlist_entries_offers on waitlist_entries (offer_expires_at) where status = 'offered';
