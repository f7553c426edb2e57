-- Payments: money taken against a booking (card through Stripe, or cash and bank
-- transfer recorded by finance), and refunds of it. Amounts are integer pence.

create table payments (
    id                          bigint generated always as identity primary key,
    booking_id                  bigint not null references bookings (id),
    amount_pence                integer not null,
    -- Kept by the refunds trigger below, so the check can stop any over-refund.
    refunded_pence              integer not null default 0,
    currency                    text not null default 'GBP',
    method                      text not null,
    status                      text not null default 'pending',
    reference                   text not null default '',
    stripe_checkout_session_id  text,
    stripe_payment_intent_id    text,
    -- Where `Pay now` sends the parent, reused while the Checkout Session is open.
    stripe_checkout_url         text,
    recorded_by                 bigint references users (id) on delete set null,
    paid_at                     timestamptz,
    created_at                  timestamptz not null default now(),
    updated_at                  timestamptz not null default now(),
    constraint payments_amount_positive check (amount_pence > 0),
    constraint payments_refunds_within_amount check (refunded_pence >= 0 and refunded_pence <= amount_pence),
    constraint payments_currency_code check (currency ~ '^[A-Z]{3}$'),
    constraint payments_method_known check (method in ('card', 'cash', 'bank_transfer')),
    constraint payments_status_known check (status in (
        'pending', 'succeeded', 'failed', 'partially_refunded', 'refunded')),
    constraint payments_stripe_checkout_session_unique unique (stripe_checkout_session_id),
    constraint payments_stripe_payment_intent_unique unique (stripe_payment_intent_id)
);
select manage_updated_at('payments');
create index payments_booking on payments (booking_id);
create index payments_created on payments (created_at);

create table refunds (
    id                  bigint generated always as identity primary key,
    payment_id          bigint not null references payments (id),
    amount_pence        integer not null,
    reason              text not null,
    stripe_refund_id    text,
    recorded_by         bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    constraint refunds_amount_positive check (amount_pence > 0),
    constraint refunds_reason_given check (length(btrim(reason)) > 0),
    constraint refunds_stripe_refund_unique unique (stripe_refund_id)
);
create index refunds_payment on refunds (payment_id);
create index refunds_created on refunds (created_at);

-- Every refund adds to its payment's `refunded_pence` in the same statement, so
-- `payments_refunds_within_amount` refuses one that would exceed what was paid, however
-- many arrive at once (the UPDATE re-reads the latest row). Only taken money is refunded.
-- AFTER, so an `on conflict do nothing` that inserts no row adds nothing either.
create function refunds_apply_to_payment() returns trigger language plpgsql as $$
declare
    paid_status text;
begin
    select status into paid_status from payments where id = new.payment_id for update;
    if paid_status not in ('succeeded', 'partially_refunded') then
        raise exception 'payment % has not been taken (status %)', new.payment_id, paid_status
            using errcode = 'check_violation', constraint = 'refunds_payment_taken';
    end if;
    update payments
       set refunded_pence = refunded_pence + new.amount_pence,
           status = case when refunded_pence + new.amount_pence >= amount_pence
                         then 'refunded' else 'partially_refunded' end
     where id = new.payment_id;
    return null;
end $$;
create trigger refunds_apply_to_payment
    after insert on refunds
    for each row execute function refunds_apply_to_payment();

-- Stripe webhook events already handled: the insert is in the same transaction as the
-- event's effect, so a redelivered or concurrent duplicate changes nothing.
create table stripe_events (
    event_id            text primary key,
    event_type          text not null,
    received_at         timestamptz not null default now()
);

-- Discount codes: a percentage or a fixed amount off a booking, within dates, for some
-- activities or all, used at most `usage_limit` times: `times_used` is raised in the
-- same statement that checks it, and the check below holds whatever arrives at once.
create table discount_codes (
    id                  bigint generated always as identity primary key,
    code                text not null,
    kind                text not null,
    percent_off         integer,
    amount_off_pence    integer,
    valid_from          date,
    valid_until         date,
    usage_limit         integer,
    times_used          integer not null default 0,
    -- Empty: every activity.
    activity_ids        bigint[] not null default '{}',
    active              boolean not null default true,
    created_by          bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    constraint discount_codes_code_unique unique (code),
    constraint discount_codes_code_format check (code ~ '^[A-Z0-9-]{3,32}$'),
    constraint discount_codes_kind_known check (
        (kind = 'percent' and percent_off between 1 and 100 and amount_off_pence is null)
        or (kind = 'fixed' and amount_off_pence > 0 and percent_off is null)),
    constraint discount_codes_dates_in_order check (valid_until is null or valid_from is null or valid_until >= valid_from),
    constraint discount_codes_limit_positive check (usage_limit is null or usage_limit > 0),
    constraint discount_codes_usage_within_limit check (times_used >= 0 and (usage_limit is null or times_used <= usage_limit))
);

-- One code per booking; the amount is fixed when applied and lowers what is due.
create table booking_discounts (
    booking_id          bigint primary key references bookings (id),
    discount_code_id    bigint not null references discount_codes (id),
    amount_pence        integer not null,
    applied_by          bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    constraint booking_discounts_amount_positive check (amount_pence > 0)
);
create index booking_discounts_code on booking_discounts (discount_code_id);
