-- Issue 10, the money findings: who caused a refund, so finance can see the refunds a
-- coordinator's cancellation (or a move to a cheaper session) gave back, and why.
--
-- Every refund a cancellation or a move causes now has a `cancellation_refunds` row:
-- card refunds as before (queued, then sent to Stripe), cash and bank transfers
-- recorded at once as `done` with their refund. `requested_by` is the staff member whose
-- action caused it (null when Portico itself acted, or the parent cancelled).
alter table cancellation_refunds
    add column requested_by bigint references users (id) on delete set null,
    add column cause text not null default 'cancellation',
    add constraint cancellation_refunds_cause_known check (cause in ('cancellation', 'move'));

