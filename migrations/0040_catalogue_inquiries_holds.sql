-- Issue 12, part B: the public course catalogue, inquiries from the public, and
-- provisional holds of places that count against capacity until they lapse.

-- Provisional holds ---------------------------------------------------------------

-- Places the office keeps for someone (a group that asked, a company deciding) for a
-- few days. A hold counts against its session's capacity while it is `held` and has
-- not expired: an expired hold stops counting at once (every check compares
-- `expires_at` with now()); the every-minute sweep only marks it `lapsed`.
create table provisional_holds (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id) on delete cascade,
    inquiry_id          bigint,
    places              integer not null,
    expires_at          timestamptz not null,
    -- Who the places are kept for, as the session's page names them.
    held_for            text not null,
    status              text not null default 'held',
    created_by          bigint references users (id) on delete set null,
    ended_at            timestamptz,
    ended_by            bigint references users (id) on delete set null,
    booking_id          bigint references bookings (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint provisional_holds_places_positive check (places > 0),
    constraint provisional_holds_status_known check (
        status in ('held', 'released', 'converted', 'lapsed')),
    constraint provisional_holds_ended_when_not_held check ((status = 'held') = (ended_at is null))
);
select manage_updated_at('provisional_holds');
create index provisional_holds_session on provisional_holds (session_id) where status = 'held';
create index provisional_holds_expiry on provisional_holds (expires_at) where status = 'held';
create index provisional_holds_inquiry on provisional_holds (inquiry_id, id);

-- The places `session` keeps for holds right now: held and not yet expired.
create function session_places_held(session bigint) returns integer
language sql stable as $$
    select coalesce(sum(places), 0)::integer
    from provisional_holds
    where session_id = session and status = 'held' and expires_at > now()
$$;

-- Bookings and waitlist offers raise `places_taken` / `places_offered` under the
-- session's row lock, and the office lowers `capacity` the same way: with held places
-- added, the sum must still fit. The check runs only when the sum grows, so a place
-- given back is never refused. It reports the existing constraint's name, so every
-- caller's mapping of "full" applies unchanged.
create function sessions_capacity_with_holds() returns trigger language plpgsql as $$
begin
    if (new.places_taken > old.places_taken or new.places_offered > old.places_offered
        or new.capacity < old.capacity)
       and new.places_taken + new.places_offered + session_places_held(new.id) > new.capacity then
        raise exception 'session % has no place left once held places are counted', new.id
            using errcode = 'check_violation', constraint = 'sessions_capacity_not_exceeded',
                  table = 'sessions';
    end if;
    return new;
end $$;
create trigger sessions_capacity_with_holds before update of places_taken, places_offered, capacity
    on sessions for each row execute function sessions_capacity_with_holds();

-- A new hold, or one given more places or time, must fit beside what is booked,
-- offered and held. The session's row lock serialises it with bookings (which update
-- that row) and with other holds.
create function provisional_holds_fit() returns trigger language plpgsql as $$
declare
    s record;
    others integer;
begin
    if new.status <> 'held' or new.expires_at <= now() then
        return new;
    end if;
    if tg_op = 'UPDATE' and old.status = 'held' and new.places <= old.places
       and new.expires_at <= old.expires_at then
        return new;
    end if;
    -- `no key update`, the lock bookings' update of the row takes: it serialises
    -- with them without waiting on the key-share locks their foreign keys hold.
    select capacity, places_taken, places_offered into s
    from sessions where id = new.session_id for no key update;
    select coalesce(sum(places), 0) into others
    from provisional_holds
    where session_id = new.session_id and status = 'held' and expires_at > now() and id <> new.id;
    if s.places_taken + s.places_offered + others + new.places > s.capacity then
        raise exception 'session % has not % places left to hold', new.session_id, new.places
            using errcode = 'check_violation', constraint = 'provisional_holds_within_capacity',
                  table = 'provisional_holds';
    end if;
    return new;
end $$;
create trigger provisional_holds_fit before insert or update of places, expires_at, status
    on provisional_holds for each row execute function provisional_holds_fit();

-- The public catalogue ------------------------------------------------------------

-- Every session the public may book now: scheduled, of an active course, still before
-- its booking cut-off. The one place that decides what /courses lists: a filter on the
-- activity's audience (adults' courses) belongs in this view's `where`.
create view public_course_sessions as
select s.id, s.activity_id, a.name as course, a.description, s.venue_id, v.name as venue,
       v.address as venue_address, v.postcode as venue_postcode, v.kind as venue_kind,
       s.starts_at, s.ends_at, s.price_pence, s.currency, s.capacity,
       greatest(s.capacity - s.places_taken - s.places_offered - session_places_held(s.id), 0)
           as places_left
from sessions s
join activities a on a.id = s.activity_id
join venues v on v.id = s.venue_id
where s.status = 'scheduled' and a.is_active
  and s.starts_at > now()
  and s.starts_at > now() + make_interval(hours => a.booking_cutoff_hours);

-- /courses filtered by course or venue reads that course's (venue's) sessions to come
-- in date order, and its filter lists ask whether each course and venue has any.
create index sessions_activity_starts on sessions (activity_id, starts_at, id);
create index sessions_venue_starts on sessions (venue_id, starts_at, id);

-- Inquiries -------------------------------------------------------------------------

-- "Ask about a course": a question from the public (a group, dates on request), which
-- the office answers by email, may hold places for, and closes.
create table inquiries (
    id                  bigint generated always as identity primary key,
    name                text not null,
    email               text not null,
    phone               text not null default '',
    -- The course asked about; null for "any course".
    activity_id         bigint references activities (id) on delete set null,
    group_size          integer not null,
    preferred_dates     text not null default '',
    message             text not null,
    status              text not null default 'open',
    answered_at         timestamptz,
    closed_at           timestamptz,
    closed_by           bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint inquiries_status_known check (status in ('open', 'answered', 'closed')),
    constraint inquiries_group_size_positive check (group_size > 0)
);
select manage_updated_at('inquiries');
create index inquiries_created on inquiries (created_at, id);
create index inquiries_status_created on inquiries (status, created_at, id);

alter table provisional_holds
    add constraint provisional_holds_inquiry_fkey foreign key (inquiry_id)
        references inquiries (id) on delete set null;

-- The office's replies, kept on the inquiry's page; each was queued in the outbox.
create table inquiry_replies (
    id                  bigint generated always as identity primary key,
    inquiry_id          bigint not null references inquiries (id) on delete cascade,
    author_id           bigint references users (id) on delete set null,
    body                text not null,
    outbox_email_id     bigint,
    created_at          timestamptz not null default now()
);
create index inquiry_replies_inquiry on inquiry_replies (inquiry_id, id);
