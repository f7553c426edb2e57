-- The core of Portico: people, the catalogue, the calendar, bookings and the audit log.
-- Invariants that matter live here as named constraints; the application turns a
-- violated constraint into a message for the user by its name.

create extension if not exists btree_gist;

-- Keeps updated_at honest without every UPDATE having to remember it.
create function set_updated_at() returns trigger language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create function manage_updated_at(_tbl regclass) returns void language plpgsql as $$
begin
    execute format('create trigger set_updated_at before update on %s
                    for each row execute function set_updated_at()', _tbl);
end $$;

-- People -------------------------------------------------------------------------------

create table users (
    id                  bigint generated always as identity primary key,
    email               text not null,
    name                text not null,
    phone               text,
    role                text not null,
    admin_role          text,
    password_hash       text not null,
    is_active           boolean not null default true,
    last_sign_in_at     timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint users_email_lowercase check (email = lower(email)),
    constraint users_email_key unique (email),
    constraint users_role_known check (role in ('parent', 'trainer', 'admin')),
    constraint users_admin_role_known check (
        admin_role in ('owner', 'coordinator', 'finance', 'safeguarding_lead')),
    constraint users_admin_role_only_for_admins check ((role = 'admin') = (admin_role is not null))
);
select manage_updated_at('users');

-- Failed and successful sign-ins, for throttling per account and per address.
create table sign_in_attempts (
    id                  bigint generated always as identity primary key,
    email               text not null,
    ip                  inet,
    succeeded           boolean not null,
    created_at          timestamptz not null default now()
);
create index sign_in_attempts_email_recent on sign_in_attempts (email, created_at);
create index sign_in_attempts_ip_recent on sign_in_attempts (ip, created_at);

-- Single-use password reset links; only a SHA-256 of the token is stored.
create table password_reset_tokens (
    id                  bigint generated always as identity primary key,
    user_id             bigint not null references users (id) on delete cascade,
    token_hash          bytea not null,
    expires_at          timestamptz not null,
    used_at             timestamptz,
    created_at          timestamptz not null default now(),
    constraint password_reset_tokens_token_hash_key unique (token_hash)
);
create index password_reset_tokens_user on password_reset_tokens (user_id);

create table trainer_profiles (
    user_id             bigint primary key references users (id) on delete cascade,
    bio                 text not null default '',
    hourly_rate_pence   integer not null default 0,
    can_travel          boolean not null default false,
    max_travel_miles    integer,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint trainer_profiles_rate_not_negative check (hourly_rate_pence >= 0),
    constraint trainer_profiles_miles_not_negative check (max_travel_miles >= 0)
);
select manage_updated_at('trainer_profiles');

create table trainer_qualifications (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    name                text not null,
    reference           text not null default '',
    expires_on          date,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
select manage_updated_at('trainer_qualifications');
create index trainer_qualifications_trainer on trainer_qualifications (trainer_id);

create table trainer_emergency_contacts (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    name                text not null,
    relationship        text not null default '',
    phone               text not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
select manage_updated_at('trainer_emergency_contacts');

-- Internal notes about a trainer; admins only.
create table trainer_notes (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    author_id           bigint references users (id) on delete set null,
    body                text not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
select manage_updated_at('trainer_notes');

-- The catalogue ---------------------------------------------------------------------

create table activities (
    id                          bigint generated always as identity primary key,
    name                        text not null,
    description                 text not null default '',
    min_age_years               integer,
    max_age_years               integer,
    default_duration_minutes    integer not null,
    default_capacity            integer not null,
    price_pence                 integer not null,
    currency                    text not null default 'GBP',
    requires_approval           boolean not null default false,
    booking_cutoff_hours        integer not null default 0,
    cancellation_cutoff_hours   integer not null default 24,
    children_per_trainer        integer,
    is_active                   boolean not null default true,
    created_at                  timestamptz not null default now(),
    updated_at                  timestamptz not null default now(),
    constraint activities_name_key unique (name),
    constraint activities_duration_positive check (default_duration_minutes > 0),
    constraint activities_capacity_not_negative check (default_capacity >= 0),
    constraint activities_price_not_negative check (price_pence >= 0),
    constraint activities_currency_code check (currency ~ '^[A-Z]{3}$'),
    constraint activities_age_range check (min_age_years is null or max_age_years is null
                                           or min_age_years <= max_age_years),
    constraint activities_ratio_positive check (children_per_trainer > 0)
);
select manage_updated_at('activities');

-- Which activities a trainer may deliver.
create table activity_trainers (
    activity_id         bigint not null references activities (id) on delete cascade,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    created_at          timestamptz not null default now(),
    primary key (activity_id, trainer_id)
);

create table venues (
    id                  bigint generated always as identity primary key,
    name                text not null,
    kind                text not null default 'site',
    address             text not null default '',
    postcode            text not null default '',
    capacity            integer,
    notes               text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint venues_name_key unique (name),
    constraint venues_kind_known check (kind in ('site', 'online', 'client_site')),
    constraint venues_capacity_not_negative check (capacity >= 0)
);
select manage_updated_at('venues');

-- The calendar ----------------------------------------------------------------------

-- A term, a weekly class or a course: the sessions it generated point back to it.
create table series (
    id                  bigint generated always as identity primary key,
    activity_id         bigint not null references activities (id),
    venue_id            bigint not null references venues (id),
    name                text not null,
    recurrence_rule     text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
select manage_updated_at('series');

create table sessions (
    id                  bigint generated always as identity primary key,
    activity_id         bigint not null references activities (id),
    venue_id            bigint not null references venues (id),
    series_id           bigint references series (id) on delete set null,
    starts_at           timestamptz not null,
    ends_at             timestamptz not null,
    capacity            integer not null,
    -- Kept by the booking_participants trigger below; the check makes overbooking
    -- impossible whatever arrives at once (the row lock serialises the increments).
    places_taken        integer not null default 0,
    price_pence         integer not null,
    currency            text not null default 'GBP',
    status              text not null default 'scheduled',
    notes               text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint sessions_ends_after_start check (ends_at > starts_at),
    constraint sessions_capacity_not_negative check (capacity >= 0),
    constraint sessions_capacity_not_exceeded check (places_taken <= capacity),
    constraint sessions_places_taken_not_negative check (places_taken >= 0),
    constraint sessions_price_not_negative check (price_pence >= 0),
    constraint sessions_currency_code check (currency ~ '^[A-Z]{3}$'),
    constraint sessions_status_known check (
        status in ('scheduled', 'in_progress', 'completed', 'cancelled'))
);
select manage_updated_at('sessions');
create index sessions_starts_at on sessions (starts_at);
create index sessions_series on sessions (series_id);

-- A trainer on a session in a role. `during` copies the session's times so that the
-- exclusion constraint can see them; a trigger keeps it in step with the session.
create table shifts (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id) on delete cascade,
    trainer_id          bigint references trainer_profiles (user_id),
    role                text not null default 'lead',
    status              text not null default 'open',
    during              tstzrange not null,
    checked_in_at       timestamptz,
    checked_out_at      timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint shifts_role_known check (role in ('lead', 'assistant', 'steward')),
    constraint shifts_status_known check (status in (
        'open', 'offered', 'accepted', 'declined', 'checked_in', 'checked_out',
        'no_show', 'cancelled')),
    constraint shifts_trainer_unless_open check (status in ('open', 'cancelled')
                                                 or trainer_id is not null),
    constraint shifts_no_overlap_per_trainer exclude using gist (
        trainer_id with =, during with &&)
        where (status in ('accepted', 'checked_in', 'checked_out'))
);
select manage_updated_at('shifts');
create index shifts_session on shifts (session_id);
create index shifts_trainer on shifts (trainer_id);

create function shifts_copy_session_times() returns trigger language plpgsql as $$
begin
    select tstzrange(s.starts_at, s.ends_at) into new.during
    from sessions s where s.id = new.session_id;
    return new;
end $$;
create trigger shifts_copy_session_times before insert or update of session_id on shifts
    for each row execute function shifts_copy_session_times();

create function sessions_move_shifts() returns trigger language plpgsql as $$
begin
    update shifts set during = tstzrange(new.starts_at, new.ends_at)
    where session_id = new.id;
    return null;
end $$;
create trigger sessions_move_shifts after update of starts_at, ends_at on sessions
    for each row execute function sessions_move_shifts();

-- A trainer's worked time: from a shift's check-in and check-out, or entered by hand.
create table time_entries (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id),
    shift_id            bigint references shifts (id) on delete set null,
    started_at          timestamptz not null,
    ended_at            timestamptz not null,
    source              text not null default 'shift',
    note                text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint time_entries_ends_after_start check (ended_at > started_at),
    constraint time_entries_source_known check (source in ('shift', 'manual'))
);
select manage_updated_at('time_entries');
create index time_entries_trainer on time_entries (trainer_id, started_at);

-- Families and bookings ----------------------------------------------------------------

create table children (
    id                  bigint generated always as identity primary key,
    parent_id           bigint not null references users (id) on delete cascade,
    first_name          text not null,
    last_name           text not null,
    date_of_birth       date not null,
    medical_notes       text not null default '',
    allergies           text not null default '',
    additional_needs    text not null default '',
    photo_consent       boolean not null default false,
    archived_at         timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
select manage_updated_at('children');
create index children_parent on children (parent_id);

create table bookings (
    id                  bigint generated always as identity primary key,
    parent_id           bigint not null references users (id),
    status              text not null default 'pending',
    total_pence         integer not null default 0,
    currency            text not null default 'GBP',
    notes               text not null default '',
    created_by          bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint bookings_status_known check (status in (
        'draft', 'pending', 'changes_requested', 'approved', 'rejected', 'cancelled',
        'completed')),
    constraint bookings_total_not_negative check (total_pence >= 0),
    constraint bookings_currency_code check (currency ~ '^[A-Z]{3}$')
);
select manage_updated_at('bookings');
create index bookings_parent on bookings (parent_id);
create index bookings_status on bookings (status, created_at);

-- One child on one session within a booking. `holds_place` is true while the booking
-- keeps a place (submitted and not rejected or cancelled).
create table booking_participants (
    id                  bigint generated always as identity primary key,
    booking_id          bigint not null references bookings (id) on delete cascade,
    session_id          bigint not null references sessions (id),
    child_id            bigint not null references children (id),
    price_pence         integer not null,
    holds_place         boolean not null default true,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint booking_participants_price_not_negative check (price_pence >= 0)
);
select manage_updated_at('booking_participants');
create unique index booking_participants_one_per_child_session
    on booking_participants (session_id, child_id) where holds_place;
create index booking_participants_booking on booking_participants (booking_id);
create index booking_participants_child on booking_participants (child_id);

-- Increments rather than recounts: under concurrency the UPDATE re-reads the latest
-- row, so the capacity check sees every committed place.
create function booking_participants_track_places() returns trigger language plpgsql as $$
begin
    if tg_op in ('UPDATE', 'DELETE') and old.holds_place then
        update sessions set places_taken = places_taken - 1 where id = old.session_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') and new.holds_place then
        update sessions set places_taken = places_taken + 1 where id = new.session_id;
    end if;
    return null;
end $$;
create trigger booking_participants_track_places
    after insert or delete or update of holds_place, session_id on booking_participants
    for each row execute function booking_participants_track_places();

create table booking_status_changes (
    id                  bigint generated always as identity primary key,
    booking_id          bigint not null references bookings (id) on delete cascade,
    from_status         text,
    to_status           text not null,
    changed_by          bigint references users (id) on delete set null,
    reason              text not null default '',
    created_at          timestamptz not null default now()
);
create index booking_status_changes_booking on booking_status_changes (booking_id, created_at);

-- Audit and mail ------------------------------------------------------------------------

create table audit_log (
    id                  bigint generated always as identity primary key,
    actor_id            bigint references users (id) on delete set null,
    action              text not null,
    entity_type         text not null,
    entity_id           bigint,
    before              jsonb,
    after               jsonb,
    created_at          timestamptz not null default now()
);
create index audit_log_created on audit_log (created_at desc);
create index audit_log_entity on audit_log (entity_type, entity_id);

-- Every email is written here in the transaction that causes it; the worker sends it.
create table outbox_emails (
    id                  bigint generated always as identity primary key,
    to_address          text not null,
    subject             text not null,
    body_text           text not null,
    status              text not null default 'pending',
    delivered_via       text,
    attempts            integer not null default 0,
    last_error          text,
    sent_at             timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint outbox_emails_status_known check (status in ('pending', 'sent', 'failed'))
);
select manage_updated_at('outbox_emails');
create index outbox_emails_created on outbox_emails (created_at desc);
