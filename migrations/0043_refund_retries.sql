-- A card refund Stripe refused (down, slow, an error) is tried again by the
-- every-minute sweep: after 5 minutes, then 4 times longer each time (20 min, 80 min,
-- 5 h 20), four automatic retries over about seven hours; after those it waits on
-- finance's list for the Retry button. `attempts` counts the tries that failed.
alter table cancellation_refunds
    add column attempts integer not null default 0,
    add column next_try_at timestamptz;

create index cancellation_refunds_retry_due on cancellation_refunds (next_try_at)
    where status = 'failed' and next_try_at is not null;
