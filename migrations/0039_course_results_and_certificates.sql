-- Issue 12, part A: a course's results, recorded on the register, and the certificates
-- a pass issues.

-- One result per participant per session, recorded (and changed) by its trainers.
create table course_results (
    id                  bigint generated always as identity primary key,
    session_id          bigint not null references sessions (id),
    child_id            bigint not null references children (id) on delete cascade,
    result              text not null,
    note                text not null default '',
    recorded_by         bigint references users (id) on delete set null,
    recorded_at         timestamptz not null default now(),
    constraint course_results_one_per_place unique (session_id, child_id),
    constraint course_results_result_known check (result in ('attended', 'passed', 'failed', 'referred'))
);

-- A certificate snapshots what it certifies, so later edits to names or courses never
-- change one already issued. `number` is random (see certificates::domain), unique.
create table certificates (
    id                  bigint generated always as identity primary key,
    number              text not null,
    result_id           bigint references course_results (id) on delete set null,
    session_id          bigint not null references sessions (id),
    activity_id         bigint not null references activities (id),
    child_id            bigint references children (id) on delete set null,
    -- The account that booked the place: it (and the learner) may download the PDF.
    account_id          bigint references users (id) on delete set null,
    learner_name        text not null,
    course_name         text not null,
    course_date         date not null,
    issued_on           date not null,
    expires_on          date not null,
    trainer_name        text not null,
    revoked_at          timestamptz,
    revoked_reason      text,
    revoked_by          bigint references users (id) on delete set null,
    reminded_90_at      timestamptz,
    reminded_30_at      timestamptz,
    created_at          timestamptz not null default now(),
    constraint certificates_number_key unique (number),
    constraint certificates_expiry_after_issue check (expires_on > issued_on),
    constraint certificates_revoked_with_reason
        check ((revoked_at is null) = (revoked_reason is null))
);
-- A pass issues one certificate; a new one only after the last was revoked.
create unique index certificates_one_live_per_result on certificates (result_id)
    where revoked_at is null;
-- The office's list (newest first, or by expiry) and the reminders' sweep.
create index certificates_issued on certificates (issued_on desc, id desc);
create index certificates_expiry on certificates (expires_on, id) where revoked_at is null;
create index certificates_activity on certificates (activity_id, issued_on desc, id desc);
create index certificates_account on certificates (account_id, issued_on desc);
create index certificates_child on certificates (child_id);
