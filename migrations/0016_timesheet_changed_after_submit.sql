-- A submitted timesheet is the total the trainer asked finance to approve. Any change
-- to that week's time afterwards (a check-out, an entry by hand, an adjustment, a
-- removal), by whatever path, sends the week back to the trainer in the same
-- transaction, so finance only ever approves a total the trainer submitted.

-- What changed, kept as facts: the app words them for the trainer and for finance in
-- the provider's time zone, which the database does not know.
alter table timesheets
    add column changed_after_submit text,
    add column changed_entry_started_at timestamptz,
    add column changed_entry_source text,
    add constraint timesheets_change_known
        check (changed_after_submit in ('added', 'changed', 'removed')),
    add constraint timesheets_change_described
        check ((changed_after_submit is null) = (changed_entry_started_at is null)
               and (changed_after_submit is null) = (changed_entry_source is null)),
    add constraint timesheets_change_only_when_returned
        check (changed_after_submit is null or status = 'returned');

-- Returns `entry`'s week to the trainer if it is waiting for approval; refuses the
-- change if the week is approved. The trainer's row is locked first and the
-- timesheet's second, in the order the app's own time changes and submissions lock
-- them, so a week cannot be submitted, approved or returned while this runs: a
-- concurrent approval either commits first (and the change is refused here) or waits
-- and then finds the week returned.
create function return_week_changed_after_submit(entry time_entries, change text)
returns void language plpgsql as $$
declare
    sheet timesheets;
begin
    perform 1 from trainer_profiles where user_id = entry.trainer_id for no key update;
    select * into sheet from timesheets
     where trainer_id = entry.trainer_id and week_start = entry.week_start
       for update;
    if not found or sheet.status = 'returned' then
        return;
    end if;
    if sheet.status = 'approved' then
        raise exception 'the timesheet for this week is approved'
            using errcode = 'check_violation', constraint = 'time_entries_locked_when_approved';
    end if;
    update timesheets
       set status = 'returned', decided_by = null, decided_at = now(),
           changed_after_submit = change,
           changed_entry_started_at = entry.started_at,
           changed_entry_source = entry.source
     where id = sheet.id;
    insert into audit_log (actor_id, action, entity_type, entity_id, before, after)
    values (null, 'timesheet.returned', 'timesheet', sheet.id,
            jsonb_build_object('status', sheet.status),
            jsonb_build_object(
                'status', 'returned',
                'changed_after_submit', change,
                'entry_id', entry.id,
                'entry_source', entry.source,
                'entry_started_at', extract(epoch from entry.started_at)::bigint,
                'week_start', entry.week_start,
                'minutes', (select coalesce(sum(floor(extract(epoch from e.ended_at - e.started_at) / 60)), 0)::bigint
                            from time_entries e
                            where e.trainer_id = entry.trainer_id and e.week_start = entry.week_start)));
end $$;

create function time_entries_return_submitted_week() returns trigger language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        perform return_week_changed_after_submit(new, 'added');
    elsif tg_op = 'DELETE' then
        perform return_week_changed_after_submit(old, 'removed');
    elsif (new.trainer_id, new.week_start) is distinct from (old.trainer_id, old.week_start) then
        -- Moved: both weeks changed.
        perform return_week_changed_after_submit(old, 'changed');
        perform return_week_changed_after_submit(new, 'changed');
    else
        perform return_week_changed_after_submit(new, 'changed');
    end if;
    return null;
end $$;

create trigger time_entries_return_submitted_week after insert or delete on time_entries
    for each row execute function time_entries_return_submitted_week();
-- Only what finance approves counts as a change: the time, its week, and the words
-- that explain it; not, say, the shift link a deleted shift clears.
create trigger time_entries_return_submitted_week_on_update after update on time_entries
    for each row
    when ((old.trainer_id, old.week_start, old.started_at, old.ended_at, old.source, old.reason, old.note)
          is distinct from
          (new.trainer_id, new.week_start, new.started_at, new.ended_at, new.source, new.reason, new.note))
    execute function time_entries_return_submitted_week();
