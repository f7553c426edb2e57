-- Trainer availability and time off. Shared by the admin calendar (which assigns and
-- approves) and the trainer portal (which declares and requests).

-- The weekly pattern: several slots a day allowed. ISO weekday, Monday = 1.
create table trainer_availability (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    weekday             smallint not null,
    starts              time not null,
    ends                time not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint trainer_availability_weekday_known check (weekday between 1 and 7),
    constraint trainer_availability_ends_after_start check (ends > starts)
);
select manage_updated_at('trainer_availability');
create index trainer_availability_trainer on trainer_availability (trainer_id, weekday);

-- Dated exceptions to the pattern: "unavailable 14 March", or available on a day
-- the pattern does not cover. No times: the whole day.
create table trainer_availability_exceptions (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    on_date             date not null,
    starts              time,
    ends                time,
    available           boolean not null default false,
    note                text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint trainer_availability_exceptions_times_paired check ((starts is null) = (ends is null)),
    constraint trainer_availability_exceptions_ends_after_start check (ends > starts)
);
select manage_updated_at('trainer_availability_exceptions');
create index trainer_availability_exceptions_trainer on trainer_availability_exceptions (trainer_id, on_date);

create table time_off_requests (
    id                  bigint generated always as identity primary key,
    trainer_id          bigint not null references trainer_profiles (user_id) on delete cascade,
    kind                text not null,
    during              tstzrange not null,
    reason              text not null default '',
    status              text not null default 'pending',
    decided_by          bigint references users (id) on delete set null,
    decided_at          timestamptz,
    decision_note       text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint time_off_requests_kind_known check (kind in ('holiday', 'sickness', 'other')),
    constraint time_off_requests_status_known check (
        status in ('pending', 'approved', 'declined', 'withdrawn')),
    constraint time_off_requests_not_empty check (not isempty(during))
);
select manage_updated_at('time_off_requests');
create index time_off_requests_trainer on time_off_requests using gist (trainer_id, during);

-- A trainer never holds a shift inside approved time off. Two tables are involved, so
-- triggers on both check it, serialised per trainer by an advisory lock (two
-- transactions could otherwise each pass the other's check).
create function trainer_lock(trainer bigint) returns void language sql as $$
    select pg_advisory_xact_lock(7001, trainer::int)
$$;

create function shifts_not_in_time_off() returns trigger language plpgsql as $$
begin
    if new.trainer_id is null or new.status not in ('accepted', 'checked_in', 'checked_out') then
        return new;
    end if;
    perform trainer_lock(new.trainer_id);
    if exists (select 1 from time_off_requests t
               where t.trainer_id = new.trainer_id and t.status = 'approved' and t.during && new.during) then
        raise exception 'shift % falls in approved time off', new.id
            using errcode = 'check_violation', constraint = 'shifts_not_in_time_off', table = 'shifts';
    end if;
    return new;
end $$;
create trigger shifts_not_in_time_off before insert or update of trainer_id, status, during on shifts
    for each row execute function shifts_not_in_time_off();

create function time_off_clear_of_shifts() returns trigger language plpgsql as $$
begin
    if new.status <> 'approved' then
        return new;
    end if;
    perform trainer_lock(new.trainer_id);
    if exists (select 1 from shifts s
               where s.trainer_id = new.trainer_id and s.status in ('accepted', 'checked_in', 'checked_out')
                 and s.during && new.during) then
        raise exception 'time off overlaps shifts the trainer holds'
            using errcode = 'check_violation', constraint = 'time_off_clear_of_shifts', table = 'time_off_requests';
    end if;
    return new;
end $$;
create trigger time_off_clear_of_shifts before insert or update of status, during on time_off_requests
    for each row execute function time_off_clear_of_shifts();
