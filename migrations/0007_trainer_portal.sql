-- The trainer portal: check-in details, registers, session notes, incidents,
-- safeguarding concerns, and weekly timesheets.

alter table shifts
    add column late_minutes integer,
    add column check_in_latitude numeric(9, 6),
    add column check_in_longitude numeric(9, 6),
    add column decline_reason text not null default '',
    add constraint shifts_late_minutes_not_negative check (late_minutes >= 0),
    add constraint shifts_checked_out_after_in check (checked_out_at is null or checked_out_at >= checked_in_at);

-- The register: one row per child per session, kept as marks are saved.
create table attendance (
    session_id          bigint not null references sessions (id) on delete cascade,
    child_id            bigint not null references children (id) on delete cascade,
    status              text not null,
    signed_in_at        timestamptz,
    signed_out_at       timestamptz,
    collected_by        text not null default '',
    collector_authorised boolean,
    collection_note     text not null default '',
    -- Set when a child went home with someone not on their authorised list.
    flagged             boolean not null default false,
    marked_by           bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    primary key (session_id, child_id),
    constraint attendance_status_known check (status in ('present', 'absent', 'late', 'excused'))
);
select manage_updated_at('attendance');

create table session_notes (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id) on delete cascade,
    author_id           bigint references users (id) on delete set null,
    body                text not null,
    created_at          timestamptz not null default now()
);
create index session_notes_session on session_notes (session_id, created_at);

create table incidents (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id) on delete cascade,
    reported_by         bigint references users (id) on delete set null,
    what_happened       text not null,
    severity            text not null,
    actions_taken       text not null default '',
    status              text not null default 'open',
    resolution          text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint incidents_severity_known check (severity in ('low', 'medium', 'high')),
    constraint incidents_status_known check (status in ('open', 'resolved'))
);
select manage_updated_at('incidents');

-- Readable only by the safeguarding lead; never deleted; follow-ups appended.
create table safeguarding_concerns (
    id                  bigint generated always as identity primary key,
    child_id            bigint not null references children (id),
    session_id          bigint references sessions (id),
    raised_by           bigint not null references users (id),
    concern             text not null,
    created_at          timestamptz not null default now()
);
create table safeguarding_actions (
    id                  bigint generated always as identity primary key,
    concern_id          bigint not null references safeguarding_concerns (id),
    author_id           bigint not null references users (id),
    note                text not null,
    created_at          timestamptz not null default now()
);
create function safeguarding_records_are_kept() returns trigger language plpgsql as $$
begin
    raise exception 'safeguarding records are never changed or deleted'
        using errcode = 'check_violation', constraint = 'safeguarding_records_are_kept';
end $$;
create trigger safeguarding_concerns_kept before update or delete on safeguarding_concerns
    for each row execute function safeguarding_records_are_kept();
create trigger safeguarding_actions_kept before update or delete on safeguarding_actions
    for each row execute function safeguarding_records_are_kept();

-- Weekly timesheets. Entries belong to the week (local Monday) they started in.
alter table time_entries
    add column week_start date,
    add column reason text not null default '';
update time_entries set week_start = (date_trunc('week', started_at at time zone 'Europe/London'))::date;
alter table time_entries alter column week_start set not null;
create index time_entries_week on time_entries (trainer_id, week_start);

create table timesheets (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    week_start          date not null,
    status              text not null,
    submitted_at        timestamptz,
    decided_by          bigint references users (id) on delete set null,
    decided_at          timestamptz,
    comment             text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint timesheets_one_per_week unique (trainer_id, week_start),
    constraint timesheets_status_known check (status in ('submitted', 'approved', 'returned')),
    constraint timesheets_week_starts_monday check (extract(isodow from week_start) = 1)
);
select manage_updated_at('timesheets');

-- Approved time is paid time: its entries can no longer change.
create function time_entries_locked_when_approved() returns trigger language plpgsql as $$
declare
    entry time_entries;
begin
    entry := case when tg_op = 'DELETE' then old else new end;
    if exists (select 1 from timesheets t where t.trainer_id = entry.trainer_id
               and t.week_start = entry.week_start and t.status = 'approved')
       or (tg_op = 'UPDATE' and exists (select 1 from timesheets t where t.trainer_id = old.trainer_id
               and t.week_start = old.week_start and t.status = 'approved')) then
        raise exception 'the timesheet for this week is approved'
            using errcode = 'check_violation', constraint = 'time_entries_locked_when_approved';
    end if;
    return entry;
end $$;
create trigger time_entries_locked_when_approved before insert or update or delete on time_entries
    for each row execute function time_entries_locked_when_approved();

-- "Your shifts tomorrow" emails: one per trainer per day, however many processes look.
create table shift_reminders (
    trainer_id          bigint not null references users (id) on delete cascade,
    for_date            date not null,
    sent_at             timestamptz not null default now(),
    primary key (trainer_id, for_date)
);
