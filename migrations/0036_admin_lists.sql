-- The admin lists that were still read whole, now paged by keyset (issue 20), each
-- starting from an index entry.

-- A client's assignment history, newest first (/admin/clients/{id}).
create index client_assignments_parent_assigned on client_assignments (parent_id, assigned_at, id);

-- A family's package purchases, newest first (/parent/packages); it also serves every
-- lookup by family the old single-column index did.
create index package_purchases_parent_created on package_purchases (parent_id, created_at, id);
drop index package_purchases_parent;

-- Finance's refunds: those of booking payments and of package sales page together by
-- (created_at, key), the key being a package sale refund's id negated, so each half's
-- cursor condition is a range of its own index (refunds_created serves the other half).
create index package_purchase_refunds_created_key on package_purchase_refunds (created_at, (-id));

-- /admin/clients names each parent's children: from the index alone, rather than a
-- heap visit per parent (51 a page).
create index children_parent_names on children (parent_id, first_name) where archived_at is null;
