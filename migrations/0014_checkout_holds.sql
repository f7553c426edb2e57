-- Issue 6: places held while a parent pays by card, released when the checkout lapses.

-- An activity may ask parents to pay by card when they book: the booking then waits
-- for payment (`awaiting_payment`, holding its places) until the Checkout Session
-- expires, and lapses (`lapsed`, places released) if it was not paid.
alter table activities add column pay_at_booking boolean not null default false;

alter table bookings drop constraint bookings_status_known;
alter table bookings add constraint bookings_status_known check (status in (
    'draft', 'awaiting_payment', 'pending', 'changes_requested', 'approved', 'rejected', 'cancelled',
    'completed', 'lapsed'));

-- Until when an awaiting booking's places are held: the expiry of its Checkout Session.
alter table bookings add column payment_due_by timestamptz;
alter table bookings add constraint bookings_awaiting_payment_has_deadline
    check (status <> 'awaiting_payment' or payment_due_by is not null);
create index bookings_awaiting_payment on bookings (payment_due_by) where status = 'awaiting_payment';

-- A card refund Stripe reports failed (or cancelled) after it was recorded no longer
-- counts: the payment takes the amount back into its books and finance sees why. A
-- failure Stripe reports before the refund itself is recorded failed from the start.
alter table refunds add column failed_at timestamptz, add column failure_reason text;

create or replace function refunds_apply_to_payment() returns trigger language plpgsql as $$
declare
    paid_status text;
begin
    if new.failed_at is not null then
        return null;
    end if;
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

-- Only the failure may change, once; the amount and payment never do.
create function refunds_fail() returns trigger language plpgsql as $$
begin
    if new.payment_id <> old.payment_id or new.amount_pence <> old.amount_pence
       or old.failed_at is not null then
        raise exception 'refund % cannot be changed', old.id
            using errcode = 'check_violation', constraint = 'refunds_only_fail_once';
    end if;
    if new.failed_at is not null then
        update payments
           set refunded_pence = refunded_pence - old.amount_pence,
               status = case when refunded_pence - old.amount_pence = 0
                             then 'succeeded' else 'partially_refunded' end
         where id = old.payment_id;
    end if;
    return new;
end $$;
create trigger refunds_fail
    before update on refunds
    for each row execute function refunds_fail();
