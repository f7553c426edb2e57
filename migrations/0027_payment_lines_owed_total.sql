-- Payments' lists, checked at compile time, and finance's "still owed" total without
-- reading every unpaid booking (issue 20).

-- A payment with what every list and receipt shows beside it: the family and the
-- booking's activities. One column list for the many literal queries that read it.
create view payment_lines as
select p.id, p.booking_id, b.parent_id, u.name as parent_name, u.email as parent_email,
       p.amount_pence, p.refunded_pence, p.currency, p.method, p.status, p.reference,
       r.name as recorded_by_name,
       coalesce((select string_agg(distinct a.name, ', ')
                   from booking_participants bp
                   join sessions s on s.id = bp.session_id
                   join activities a on a.id = s.activity_id
                  where bp.booking_id = b.id), '') as activity,
       p.paid_at, p.created_at, p.stripe_checkout_session_id
  from payments p
  join bookings b on b.id = p.booking_id
  join users u on u.id = b.parent_id
  left join users r on r.id = p.recorded_by;

-- A refund of a booking payment, with its payment and family.
create view refund_lines as
select f.id, f.payment_id, p.booking_id, b.parent_id, u.name as parent_name, f.amount_pence, p.currency,
       p.method, p.status as payment_status, f.reason, r.name as recorded_by_name, f.created_at,
       f.failed_at, f.failure_reason
  from refunds f
  join payments p on p.id = f.payment_id
  join bookings b on b.id = p.booking_id
  join users u on u.id = b.parent_id
  left join users r on r.id = f.recorded_by;

-- What a booking still owes: for one that keeps its places, its total less what was
-- paid (net of refunds) and its discount, never below nothing.
create function booking_owed_pence(status text, total_pence bigint, paid_pence bigint, discount_pence bigint)
returns bigint language sql immutable parallel safe as $$
    select case when status in ('pending', 'changes_requested', 'approved', 'completed')
                then greatest(total_pence - paid_pence - discount_pence, 0) else 0 end
$$;

-- The "still owed" total over every booking, as changes to it: each statement that
-- changes what bookings owe appends one row (how many more bookings owe, how much more),
-- and the total is the sum of the rows. Appending takes no lock another transaction
-- waits on, so concurrent bookings and payments never queue (or deadlock, as counter
-- rows updated by transactions touching several bookings could); the every-minute
-- sweep folds the rows into one (`payments::store::fold_owed_changes`), so the sum
-- reads a handful of rows.
create table owed_changes (
    id          bigint generated always as identity primary key,
    bookings    bigint not null,
    owed_pence  bigint not null
);

-- Bookings' side: a statement's rows counted out as they were (`side` -1) and in as
-- they are (`side` 1), each with the booking's discount as it is now (discounts change
-- in statements of their own, below). One row appended, none if nothing changed.
create function bookings_keep_owed() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into owed_changes (bookings, owed_pence)
        select count(*) filter (where owed > 0), coalesce(sum(owed), 0) from (
            select booking_owed_pence(n.status, n.total_pence, n.paid_pence, coalesce(d.amount_pence, 0)) as owed
              from new_rows n left join booking_discounts d on d.booking_id = n.id) c
        having sum(owed) <> 0;
    elsif tg_op = 'DELETE' then
        insert into owed_changes (bookings, owed_pence)
        select -count(*) filter (where owed > 0), -coalesce(sum(owed), 0) from (
            select booking_owed_pence(o.status, o.total_pence, o.paid_pence, coalesce(d.amount_pence, 0)) as owed
              from old_rows o left join booking_discounts d on d.booking_id = o.id) c
        having sum(owed) <> 0;
    else
        insert into owed_changes (bookings, owed_pence)
        select sum(side * (owed > 0)::int), sum(side * owed) from (
            select 1 as side,
                   booking_owed_pence(n.status, n.total_pence, n.paid_pence, coalesce(d.amount_pence, 0)) as owed
              from new_rows n left join booking_discounts d on d.booking_id = n.id
            union all
            select -1, booking_owed_pence(o.status, o.total_pence, o.paid_pence, coalesce(d.amount_pence, 0))
              from old_rows o left join booking_discounts d on d.booking_id = o.id) c
        having sum(side * (owed > 0)::int) <> 0 or sum(side * owed) <> 0;
    end if;
    return null;
end $$;

create trigger bookings_owed_insert after insert on bookings
    referencing new table as new_rows for each statement execute function bookings_keep_owed();
create trigger bookings_owed_update after update on bookings
    referencing old table as old_rows new table as new_rows
    for each statement execute function bookings_keep_owed();
create trigger bookings_owed_delete after delete on bookings
    referencing old table as old_rows for each statement execute function bookings_keep_owed();

-- Discounts' side: the booking as it is now, owing with the old discount counted out
-- and with the new one counted in.
create function booking_discounts_keep_owed() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into owed_changes (bookings, owed_pence)
        select sum(side * (owed > 0)::int), sum(side * owed) from (
            select 1 as side, booking_owed_pence(b.status, b.total_pence, b.paid_pence, n.amount_pence) as owed
              from new_rows n join bookings b on b.id = n.booking_id
            union all
            select -1, booking_owed_pence(b.status, b.total_pence, b.paid_pence, 0)
              from new_rows n join bookings b on b.id = n.booking_id) c
        having sum(side * (owed > 0)::int) <> 0 or sum(side * owed) <> 0;
    elsif tg_op = 'DELETE' then
        insert into owed_changes (bookings, owed_pence)
        select sum(side * (owed > 0)::int), sum(side * owed) from (
            select 1 as side, booking_owed_pence(b.status, b.total_pence, b.paid_pence, 0) as owed
              from old_rows o join bookings b on b.id = o.booking_id
            union all
            select -1, booking_owed_pence(b.status, b.total_pence, b.paid_pence, o.amount_pence)
              from old_rows o join bookings b on b.id = o.booking_id) c
        having sum(side * (owed > 0)::int) <> 0 or sum(side * owed) <> 0;
    else
        insert into owed_changes (bookings, owed_pence)
        select sum(side * (owed > 0)::int), sum(side * owed) from (
            select 1 as side, booking_owed_pence(b.status, b.total_pence, b.paid_pence, n.amount_pence) as owed
              from new_rows n join bookings b on b.id = n.booking_id
            union all
            select -1, booking_owed_pence(b.status, b.total_pence, b.paid_pence, o.amount_pence)
              from old_rows o join bookings b on b.id = o.booking_id) c
        having sum(side * (owed > 0)::int) <> 0 or sum(side * owed) <> 0;
    end if;
    return null;
end $$;

create trigger booking_discounts_owed_insert after insert on booking_discounts
    referencing new table as new_rows for each statement execute function booking_discounts_keep_owed();
create trigger booking_discounts_owed_update after update on booking_discounts
    referencing old table as old_rows new table as new_rows
    for each statement execute function booking_discounts_keep_owed();
create trigger booking_discounts_owed_delete after delete on booking_discounts
    referencing old table as old_rows for each statement execute function booking_discounts_keep_owed();

-- What is owed already, as the first row.
insert into owed_changes (bookings, owed_pence)
select count(*) filter (where owed > 0), coalesce(sum(owed), 0) from (
    select booking_owed_pence(b.status, b.total_pence, b.paid_pence, coalesce(d.amount_pence, 0)) as owed
      from bookings b left join booking_discounts d on d.booking_id = b.id) c;

-- Finance's lists of card refunds, paged by keyset (newest caused first; refused ones
-- oldest first), and a family's payment history.
create index cancellation_refunds_created on cancellation_refunds (created_at, id);
create index cancellation_refunds_failed on cancellation_refunds (created_at, id) where status = 'failed';
