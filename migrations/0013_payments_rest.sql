-- Issue 6, the rest: refunds when places are cancelled.

-- A card refund owed because places were cancelled. Written in the cancelling
-- transaction (so it is never forgotten), then sent to Stripe after that transaction
-- commits (no row lock held over the HTTP call). A row is claimed once
-- (`pending` → `sending`), so each refund is sent and recorded once.
create table cancellation_refunds (
    id                  bigint generated always as identity primary key,
    payment_id          bigint not null references payments (id),
    booking_id          bigint not null references bookings (id),
    amount_pence        integer not null,
    reason              text not null,
    status              text not null default 'pending',
    refund_id           bigint references refunds (id),
    last_error          text,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint cancellation_refunds_amount_positive check (amount_pence > 0),
    constraint cancellation_refunds_status_known check (status in ('pending', 'sending', 'done', 'failed')),
    constraint cancellation_refunds_done_has_refund check (status <> 'done' or refund_id is not null)
);
select manage_updated_at('cancellation_refunds');
create index cancellation_refunds_payment on cancellation_refunds (payment_id);
create index cancellation_refunds_open on cancellation_refunds (status) where status in ('pending', 'sending');

-- Packages sold: a parent buys a package (pending until paid by card through Checkout
-- or recorded offline by finance); once paid it becomes a `package_credits` balance.
create table package_purchases (
    id                          bigint generated always as identity primary key,
    parent_id                   bigint not null references users (id),
    package_id                  bigint not null references packages (id),
    credits                     integer not null,
    amount_pence                integer not null,
    currency                    text not null default 'GBP',
    method                      text,
    status                      text not null default 'pending',
    reference                   text not null default '',
    stripe_checkout_session_id  text,
    stripe_checkout_url         text,
    stripe_payment_intent_id    text,
    recorded_by                 bigint references users (id) on delete set null,
    paid_at                     timestamptz,
    created_at                  timestamptz not null default now(),
    updated_at                  timestamptz not null default now(),
    constraint package_purchases_credits_positive check (credits > 0),
    constraint package_purchases_amount_not_negative check (amount_pence >= 0),
    constraint package_purchases_currency_code check (currency ~ '^[A-Z]{3}$'),
    constraint package_purchases_method_known check (method is null or method in ('card', 'cash', 'bank_transfer')),
    constraint package_purchases_status_known check (status in ('pending', 'paid', 'failed')),
    constraint package_purchases_paid_has_method check (status <> 'paid' or (method is not null and paid_at is not null)),
    constraint package_purchases_checkout_unique unique (stripe_checkout_session_id)
);
select manage_updated_at('package_purchases');
create index package_purchases_parent on package_purchases (parent_id);

-- A paid purchase's credits. `balance` is kept by the movements trigger below and can
-- never go negative, whatever arrives at once (the row lock serialises the changes).
create table package_credits (
    id                  bigint generated always as identity primary key,
    purchase_id         bigint not null references package_purchases (id),
    parent_id           bigint not null references users (id),
    package_id          bigint not null references packages (id),
    balance             integer not null default 0,
    expires_at          timestamptz not null,
    created_at          timestamptz not null default now(),
    constraint package_credits_one_per_purchase unique (purchase_id),
    constraint package_credits_balance_not_negative check (balance >= 0)
);
create index package_credits_parent on package_credits (parent_id);

-- Append-only ledger of credits: bought (+N), used by a booking place (−1), returned
-- on an eligible cancellation (+1). A place uses a credit once and gets it back once.
create table package_credit_movements (
    id                  bigint generated always as identity primary key,
    package_credit_id   bigint not null references package_credits (id),
    change              integer not null,
    kind                text not null,
    booking_id          bigint references bookings (id),
    participant_id      bigint references booking_participants (id),
    created_by          bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    constraint package_credit_movements_change_nonzero check (change <> 0),
    constraint package_credit_movements_kind_known check (
        (kind = 'purchase' and change > 0 and participant_id is null)
        or (kind = 'use' and change = -1 and participant_id is not null)
        or (kind = 'return' and change = 1 and participant_id is not null))
);
create index package_credit_movements_credit on package_credit_movements (package_credit_id);
create index package_credit_movements_booking on package_credit_movements (booking_id);
create unique index package_credit_movements_once
    on package_credit_movements (participant_id, kind) where participant_id is not null;

create function package_credit_movements_apply() returns trigger language plpgsql as $$
begin
    update package_credits set balance = balance + new.change where id = new.package_credit_id;
    return null;
end $$;
create trigger package_credit_movements_apply
    after insert on package_credit_movements
    for each row execute function package_credit_movements_apply();

create function package_credit_movements_append_only() returns trigger language plpgsql as $$
begin
    raise exception 'package credit movements are append-only'
        using errcode = 'check_violation', constraint = 'package_credit_movements_append_only';
end $$;
create trigger package_credit_movements_append_only
    before update or delete on package_credit_movements
    for each row execute function package_credit_movements_append_only();
