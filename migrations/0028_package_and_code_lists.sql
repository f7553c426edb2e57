-- Keyset pages of finance's package sales (each list newest first: those still to be
-- paid, and those paid) and of the discount codes, each read from an index on its
-- sort key and id.
create index package_purchases_unpaid_created on package_purchases (created_at, id) where status <> 'paid';
create index package_purchases_paid_created on package_purchases (created_at, id) where status = 'paid';
create index discount_codes_created on discount_codes (created_at, id);
-- A parent's waitlist: their live entries, found by parent.
create index waitlist_entries_parent_live on waitlist_entries (parent_id) where status in ('waiting', 'offered');
