-- The rest of the office's calendar work: package definitions (the payments work sells
-- them) and clients assigned to a trainer, with the history of transfers.

-- A bundle: either a number of sessions (credits) or a whole term of a series, for the
-- activities it covers, at a price, usable for a number of days after purchase.
create table packages (
    id                  bigint generated always as identity primary key,
    name                text not null,
    description         text not null default '',
    kind                text not null,
    credits             integer,
    price_pence         integer not null,
    currency            text not null default 'GBP',
    valid_days          integer not null,
    is_active           boolean not null default true,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint packages_name_key unique (name),
    constraint packages_kind_known check (kind in ('credits', 'term')),
    constraint packages_credits_positive check (credits is null or credits > 0),
    constraint packages_credits_match_kind check ((kind = 'credits') = (credits is not null)),
    constraint packages_price_not_negative check (price_pence >= 0),
    constraint packages_valid_days_positive check (valid_days > 0),
    constraint packages_currency_code check (currency ~ '^[A-Z]{3}$')
);
select manage_updated_at('packages');

create table package_activities (
    package_id          bigint not null references packages (id) on delete cascade,
    activity_id         bigint not null references activities (id),
    primary key (package_id, activity_id)
);
create index package_activities_activity on package_activities (activity_id);

-- A client (parent) looked after by one trainer. A transfer ends the current row and
-- starts another, so the history of who, when and why stays.
create table client_assignments (
    id                  bigint generated always as identity primary key,
    parent_id           bigint not null references users (id),
    trainer_id          bigint not null references trainer_profiles (user_id),
    assigned_at         timestamptz not null default now(),
    ended_at            timestamptz,
    assigned_by         bigint references users (id) on delete set null,
    reason              text not null,
    constraint client_assignments_reason_present check (btrim(reason) <> ''),
    constraint client_assignments_ends_after_start check (ended_at is null or ended_at >= assigned_at)
);
create unique index client_assignments_one_current on client_assignments (parent_id) where ended_at is null;
create index client_assignments_trainer on client_assignments (trainer_id) where ended_at is null;
