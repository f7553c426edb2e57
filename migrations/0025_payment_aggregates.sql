-- Stored aggregates for finance's page (/admin/payments), so its totals read a few rows
-- through an index instead of every payment and booking (issue 20). Both are kept by
-- statement-level triggers on payments (transition tables: one pass per statement, so
-- bulk loads stay bulk) and recomputed or adjusted from the payment rows themselves.

-- What each booking has been paid, net of refunds: the sum the outstanding list and its
-- total used to take per booking on every view.
alter table bookings add column paid_pence bigint not null default 0,
    add constraint bookings_paid_not_negative check (paid_pence >= 0);

-- Money by hour and status: finance's totals for any period of whole hours (the
-- provider's days, in any time zone with whole-hour offsets) sum a few thousand rows.
create table payment_hour_totals (
    hour            timestamptz not null,
    status          text not null,
    payments        bigint not null,
    amount_pence    bigint not null,
    refunded_pence  bigint not null,
    primary key (hour, status),
    constraint payment_hour_totals_not_negative
        check (payments >= 0 and amount_pence >= 0 and refunded_pence >= 0)
);

-- Old rows are counted out of their hour (which holds them, so an update) and new rows
-- in (an upsert: a check is tested on the row proposed for insert, so the two are kept
-- apart); a booking's paid sum is recomputed from its payments, so it cannot drift.
create function payments_keep_aggregates() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        update bookings b set paid_pence = coalesce((
            select sum(case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                            then p.amount_pence - p.refunded_pence else 0 end)
            from payments p where p.booking_id = b.id), 0)
        where b.id in (select booking_id from new_rows);
        insert into payment_hour_totals as t (hour, status, payments, amount_pence, refunded_pence)
        select date_trunc('hour', created_at, 'UTC'), status, count(*), sum(amount_pence), sum(refunded_pence)
        from new_rows group by 1, 2
        on conflict (hour, status) do update set payments = t.payments + excluded.payments,
            amount_pence = t.amount_pence + excluded.amount_pence,
            refunded_pence = t.refunded_pence + excluded.refunded_pence;
    elsif tg_op = 'DELETE' then
        update bookings b set paid_pence = coalesce((
            select sum(case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                            then p.amount_pence - p.refunded_pence else 0 end)
            from payments p where p.booking_id = b.id), 0)
        where b.id in (select booking_id from old_rows);
        update payment_hour_totals t
        set payments = t.payments - o.payments, amount_pence = t.amount_pence - o.amount_pence,
            refunded_pence = t.refunded_pence - o.refunded_pence
        from (select date_trunc('hour', created_at, 'UTC') as hour, status, count(*) as payments,
                     sum(amount_pence) as amount_pence, sum(refunded_pence) as refunded_pence
              from old_rows group by 1, 2) o
        where t.hour = o.hour and t.status = o.status;
    else
        update bookings b set paid_pence = coalesce((
            select sum(case when p.status in ('succeeded', 'partially_refunded', 'refunded')
                            then p.amount_pence - p.refunded_pence else 0 end)
            from payments p where p.booking_id = b.id), 0)
        where b.id in (select booking_id from old_rows union select booking_id from new_rows);
        update payment_hour_totals t
        set payments = t.payments - o.payments, amount_pence = t.amount_pence - o.amount_pence,
            refunded_pence = t.refunded_pence - o.refunded_pence
        from (select date_trunc('hour', created_at, 'UTC') as hour, status, count(*) as payments,
                     sum(amount_pence) as amount_pence, sum(refunded_pence) as refunded_pence
              from old_rows group by 1, 2) o
        where t.hour = o.hour and t.status = o.status;
        insert into payment_hour_totals as t (hour, status, payments, amount_pence, refunded_pence)
        select date_trunc('hour', created_at, 'UTC'), status, count(*), sum(amount_pence), sum(refunded_pence)
        from new_rows group by 1, 2
        on conflict (hour, status) do update set payments = t.payments + excluded.payments,
            amount_pence = t.amount_pence + excluded.amount_pence,
            refunded_pence = t.refunded_pence + excluded.refunded_pence;
    end if;
    return null;
end $$;

create trigger payments_aggregates_insert after insert on payments
    referencing new table as new_rows for each statement execute function payments_keep_aggregates();
create trigger payments_aggregates_update after update on payments
    referencing old table as old_rows new table as new_rows
    for each statement execute function payments_keep_aggregates();
create trigger payments_aggregates_delete after delete on payments
    referencing old table as old_rows for each statement execute function payments_keep_aggregates();

-- What is there already.
update bookings b set paid_pence = p.paid
from (select booking_id, sum(case when status in ('succeeded', 'partially_refunded', 'refunded')
                                  then amount_pence - refunded_pence else 0 end) as paid
      from payments group by booking_id) p
where p.booking_id = b.id and p.paid <> 0;
insert into payment_hour_totals (hour, status, payments, amount_pence, refunded_pence)
select date_trunc('hour', created_at, 'UTC'), status, count(*), sum(amount_pence), sum(refunded_pence)
from payments group by 1, 2;

-- The outstanding list (oldest first) and its total: only bookings that hold places and
-- are not paid in full, with what the total needs, so both read just those.
create index bookings_owed_created on bookings (created_at, id) include (total_pence, paid_pence)
    where status in ('pending', 'changes_requested', 'approved', 'completed') and paid_pence < total_pence;
