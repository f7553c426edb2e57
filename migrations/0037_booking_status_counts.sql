-- How many bookings are in each state, for the office's list and dashboard, without
-- counting the bookings on every view (issue 20): a count of a million bookings, or of
-- the thousands waiting for approval, read on every request costs more than the rest of
-- the page.
--
-- Kept as the running total of "still owed" is (0027): each statement that adds,
-- removes or changes the state of bookings appends one row per state it changed (how
-- many more bookings are in it), and a state's count is the sum of its rows. Appending
-- takes no lock another transaction waits on, so concurrent bookings (the booking race)
-- never queue on a counter row; the every-minute sweep folds the rows into one per state
-- (`bookings::store::fold_status_counts`), so the sum reads a handful of rows.
create table booking_status_counts (
    id        bigint generated always as identity primary key,
    status    text not null,
    bookings  bigint not null
);
create index booking_status_counts_status on booking_status_counts (status) include (bookings);

create function bookings_count_statuses() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into booking_status_counts (status, bookings)
        select status, count(*) from new_rows group by status;
    elsif tg_op = 'DELETE' then
        insert into booking_status_counts (status, bookings)
        select status, -count(*) from old_rows group by status;
    else
        insert into booking_status_counts (status, bookings)
        select status, sum(side) from (
            select status, 1 as side from new_rows
            union all
            select status, -1 from old_rows) c
        group by status having sum(side) <> 0;
    end if;
    return null;
end $$;

create trigger bookings_status_count_insert after insert on bookings
    referencing new table as new_rows for each statement execute function bookings_count_statuses();
create trigger bookings_status_count_update after update on bookings
    referencing old table as old_rows new table as new_rows
    for each statement execute function bookings_count_statuses();
create trigger bookings_status_count_delete after delete on bookings
    referencing old table as old_rows for each statement execute function bookings_count_statuses();

-- The bookings there are already, as the first rows.
insert into booking_status_counts (status, bookings)
select status, count(*) from bookings group by status;
