-- The office's calendar: the catalogue's missing pieces, trainer applications, and
-- what an assignment outside a trainer's availability was justified by.

-- The qualifications (by name, as on trainer_qualifications) a trainer needs, unexpired,
-- to deliver an activity.
create table activity_required_qualifications (
    activity_id         bigint not null references activities (id) on delete cascade,
    name                text not null,
    created_at          timestamptz not null default now(),
    primary key (activity_id, name),
    constraint activity_required_qualifications_name_present check (btrim(name) <> '')
);

alter table venues
    add column is_active boolean not null default true;

-- Someone who would like to work for the provider; approving creates their account.
create table trainer_applications (
    id                  bigint generated always as identity primary key,
    name                text not null,
    email               text not null,
    phone               text not null default '',
    experience          text not null default '',
    qualifications      text not null default '',
    status              text not null default 'pending',
    decided_by          bigint references users (id) on delete set null,
    decided_at          timestamptz,
    decision_reason     text not null default '',
    user_id             bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint trainer_applications_email_lowercase check (email = lower(email)),
    constraint trainer_applications_status_known check (status in ('pending', 'approved', 'rejected')),
    constraint trainer_applications_rejection_has_reason check (
        status <> 'rejected' or btrim(decision_reason) <> '')
);
select manage_updated_at('trainer_applications');
create index trainer_applications_status on trainer_applications (status, created_at);

-- An admin may assign a trainer outside their weekly availability only with a reason.
alter table shifts
    add column assignment_note text not null default '';
