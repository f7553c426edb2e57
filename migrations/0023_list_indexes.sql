-- Indexes for the paged lists (web::page): each list reads a page by walking an index
-- on (sort key, id) from its cursor and stops at 51 rows, so every one ends in `id`.
-- Where a narrower index already existed it is replaced, not duplicated, so writes
-- pay for one index, not two.

-- /admin/bookings (newest first) and its status filter (the approval queue, oldest
-- first); /parent/bookings by family.
create index bookings_created on bookings (created_at, id);
drop index bookings_status;
create index bookings_status_created on bookings (status, created_at, id);
drop index bookings_parent;
create index bookings_parent_created on bookings (parent_id, created_at, id);
-- Finance's outstanding balances: bookings that hold places, oldest first.
create index bookings_holding_created on bookings (created_at, id)
    where status in ('pending', 'changes_requested', 'approved', 'completed');

-- /admin/payments, by date and by status; refunds newest first; package sales.
drop index payments_created;
create index payments_created on payments (created_at, id);
create index payments_status_created on payments (status, created_at, id);
drop index refunds_created;
create index refunds_created on refunds (created_at, id);
drop index package_purchase_refunds_created;
create index package_purchase_refunds_created on package_purchase_refunds (created_at, id);
create index package_purchases_paid on package_purchases ((coalesce(paid_at, created_at)), id)
    where status = 'paid';

-- /admin/audit and /admin/outbox, newest first.
drop index audit_log_created;
create index audit_log_created on audit_log (created_at, id);
drop index outbox_emails_created;
create index outbox_emails_created on outbox_emails (created_at, id);

-- /admin/clients: parents by name.
create index users_parents_by_name on users (name, id) where role = 'parent';

-- /admin/timesheets by week (newest first), and by status (submitted by default).
create index timesheets_week on timesheets (week_start, id);
create index timesheets_status_week on timesheets (status, week_start, id);
