-- Data rights (UK GDPR): a parent's request to close their account and have their
-- family's personal data erased, and the office's decision on it.

-- When the account's personal data was erased; the row stays so bookings and payments
-- keep their parent for the accounts.
alter table users add column erased_at timestamptz;

create table erasure_requests (
    id                  bigint generated always as identity primary key,
    user_id             bigint not null references users (id),
    status              text not null default 'pending',
    reason              text not null default '',
    decided_by          bigint references users (id) on delete set null,
    decision_reason     text not null default '',
    decided_at          timestamptz,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint erasure_requests_status_known check (
        status in ('pending', 'withdrawn', 'declined', 'completed')),
    constraint erasure_requests_decided_has_time check ((status = 'pending') = (decided_at is null)),
    constraint erasure_requests_declined_has_reason check (
        status <> 'declined' or btrim(decision_reason) <> '')
);
select manage_updated_at('erasure_requests');
-- One open request per account: a second "Close my account" while one waits is refused.
create unique index erasure_requests_one_pending on erasure_requests (user_id) where status = 'pending';
create index erasure_requests_queue on erasure_requests (status, id);
