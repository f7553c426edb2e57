-- The hourly rate a timesheet was approved at: a later change to the trainer's rate
-- must not change what approved time pays.
alter table timesheets
    add column hourly_rate_pence integer,
    add constraint timesheets_rate_not_negative check (hourly_rate_pence >= 0),
    add constraint timesheets_approved_have_rate check (status <> 'approved' or hourly_rate_pence is not null);
