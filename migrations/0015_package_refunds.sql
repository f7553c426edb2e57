-- Finance refunds a package purchase, fully or in part, with a reason, and may withdraw
-- its unused credits with it. Never more money than was paid and never a credit already
-- used: both kept by the database whatever arrives at once.
--
-- A purchase keeps its status (`paid`): "refunded" is derived from `refunded_pence`, so
-- granting (which matches only pending or failed purchases) and
-- `package_purchases_paid_has_method` stay as they are.

alter table package_purchases
    -- Kept by the refunds trigger below, so the check can stop any over-refund.
    add column refunded_pence integer not null default 0,
    add constraint package_purchases_refunds_within_amount
        check (refunded_pence >= 0 and refunded_pence <= amount_pence);

create table package_purchase_refunds (
    id                  bigint generated always as identity primary key,
    purchase_id         bigint not null references package_purchases (id),
    amount_pence        integer not null,
    credits_withdrawn   integer not null default 0,
    reason              text not null,
    stripe_refund_id    text,
    recorded_by         bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    -- Stripe reported the card refund failed: it no longer counts (see the end).
    failed_at           timestamptz,
    failure_reason      text,
    constraint package_purchase_refunds_amount_positive check (amount_pence > 0),
    constraint package_purchase_refunds_credits_not_negative check (credits_withdrawn >= 0),
    constraint package_purchase_refunds_reason_given check (length(btrim(reason)) > 0),
    constraint package_purchase_refunds_stripe_refund_unique unique (stripe_refund_id)
);
create index package_purchase_refunds_purchase on package_purchase_refunds (purchase_id);
create index package_purchase_refunds_created on package_purchase_refunds (created_at);

-- Credits a refund withdraws leave the balance as a `refund` movement pointing at it.
alter table package_credit_movements
    add column purchase_refund_id bigint references package_purchase_refunds (id),
    drop constraint package_credit_movements_kind_known,
    add constraint package_credit_movements_kind_known check (
        (kind = 'purchase' and change > 0 and participant_id is null)
        or (kind = 'use' and change = -1 and participant_id is not null)
        or (kind = 'return' and change = 1 and participant_id is not null)
        or (kind = 'refund' and change < 0 and participant_id is null and booking_id is null)),
    add constraint package_credit_movements_refund_link
        check ((kind = 'refund') = (purchase_refund_id is not null));

-- Every refund adds to its purchase's `refunded_pence` in the same statement, so
-- `package_purchases_refunds_within_amount` refuses one that would exceed what was paid
-- (the UPDATE re-reads the latest row), and its withdrawn credits go through the ledger,
-- so `package_credits_balance_not_negative` refuses withdrawing credits already used.
-- Only a paid purchase is refunded. AFTER, so an `on conflict do nothing` that inserts no
-- row changes nothing either; a refund recorded already failed changes nothing.
create function package_purchase_refunds_apply() returns trigger language plpgsql as $$
declare
    purchase_status text;
    credit_id bigint;
begin
    if new.failed_at is not null then
        return null;
    end if;
    select status into purchase_status from package_purchases where id = new.purchase_id for update;
    if purchase_status is distinct from 'paid' then
        raise exception 'package purchase % has not been paid (status %)', new.purchase_id, purchase_status
            using errcode = 'check_violation', constraint = 'package_purchase_refunds_purchase_paid';
    end if;
    update package_purchases set refunded_pence = refunded_pence + new.amount_pence
     where id = new.purchase_id;
    if new.credits_withdrawn > 0 then
        select id into credit_id from package_credits where purchase_id = new.purchase_id;
        if credit_id is null then
            raise exception 'package purchase % has no credits to withdraw', new.purchase_id
                using errcode = 'check_violation', constraint = 'package_purchase_refunds_credits_exist';
        end if;
        insert into package_credit_movements (package_credit_id, change, kind, created_by, purchase_refund_id)
        values (credit_id, -new.credits_withdrawn, 'refund', new.recorded_by, new.id);
    end if;
    return null;
end $$;
create trigger package_purchase_refunds_apply
    after insert on package_purchase_refunds
    for each row execute function package_purchase_refunds_apply();

-- A card refund Stripe reports failed afterwards no longer counts: the purchase takes
-- the money back into its books. Credits withdrawn with it stay withdrawn (finance
-- decides, on the purchase's page). A failure reported before the refund itself is
-- recorded failed from the start, and then changes nothing.
create function package_purchase_refunds_fail() returns trigger language plpgsql as $$
begin
    if new.purchase_id <> old.purchase_id or new.amount_pence <> old.amount_pence
       or new.credits_withdrawn <> old.credits_withdrawn or old.failed_at is not null then
        raise exception 'package refund % cannot be changed', old.id
            using errcode = 'check_violation', constraint = 'package_purchase_refunds_only_fail_once';
    end if;
    if new.failed_at is not null then
        update package_purchases set refunded_pence = refunded_pence - old.amount_pence
         where id = old.purchase_id;
    end if;
    return new;
end $$;
create trigger package_purchase_refunds_fail
    before update on package_purchase_refunds
    for each row execute function package_purchase_refunds_fail();
