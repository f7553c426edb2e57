-- Families: who to call about a child, who may collect them, their doctor, and the
-- checklists (consents, documents) kept per child and per parent.

-- When the parent accepted the terms of service (at sign-up, or later on their profile).
alter table users add column terms_accepted_at timestamptz;

-- The child's GP or doctor; empty when the family has not said.
alter table children
    add column doctor_name      text not null default '',
    add column doctor_phone     text not null default '';

-- Who to call when something happens. The forms keep at least one per child; the
-- database only refuses blank names and numbers.
create table child_emergency_contacts (
    id                  bigint generated always as identity primary key,
    child_id            bigint not null references children (id) on delete cascade,
    name                text not null,
    relationship        text not null default '',
    phone               text not null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint child_emergency_contacts_name_not_blank check (btrim(name) <> ''),
    constraint child_emergency_contacts_phone_not_blank check (btrim(phone) <> '')
);
select manage_updated_at('child_emergency_contacts');
create index child_emergency_contacts_child on child_emergency_contacts (child_id);

-- People other than the parent who may collect the child; `password` is the word
-- they give staff at pick-up, if the family uses one.
create table child_authorised_collectors (
    id                  bigint generated always as identity primary key,
    child_id            bigint not null references children (id) on delete cascade,
    name                text not null,
    relationship        text not null default '',
    phone               text not null,
    password            text not null default '',
    notes               text not null default '',
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint child_authorised_collectors_name_not_blank check (btrim(name) <> ''),
    constraint child_authorised_collectors_phone_not_blank check (btrim(phone) <> '')
);
select manage_updated_at('child_authorised_collectors');
create index child_authorised_collectors_child on child_authorised_collectors (child_id);

-- Checklists -----------------------------------------------------------------------------

-- What the provider needs from every child's family, or from every parent. `code`
-- names an item the application acts on (sign-up completes 'terms').
create table checklist_items (
    id                  bigint generated always as identity primary key,
    code                text not null,
    applies_to          text not null,
    name                text not null,
    description         text not null default '',
    required            boolean not null default true,
    active              boolean not null default true,
    position            integer not null default 0,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now(),
    constraint checklist_items_code_key unique (code),
    constraint checklist_items_applies_to_known check (applies_to in ('child', 'parent')),
    -- The target of the completions' foreign key, so a completion's subject matches.
    constraint checklist_items_id_applies_to_key unique (id, applies_to)
);
select manage_updated_at('checklist_items');

-- One row per item done for one subject: a child for child items, a parent for
-- parent items (the composite foreign key and the check keep the two in step).
create table checklist_completions (
    id                  bigint generated always as identity primary key,
    item_id             bigint not null,
    applies_to          text not null,
    child_id            bigint references children (id) on delete cascade,
    user_id             bigint references users (id) on delete cascade,
    completed_at        timestamptz not null default now(),
    completed_by        bigint references users (id) on delete set null,
    constraint checklist_completions_item_fkey foreign key (item_id, applies_to)
        references checklist_items (id, applies_to) on delete cascade,
    constraint checklist_completions_subject_matches check (
        (applies_to = 'child' and child_id is not null and user_id is null)
        or (applies_to = 'parent' and user_id is not null and child_id is null)),
    constraint checklist_completions_item_child_key unique (item_id, child_id),
    constraint checklist_completions_item_user_key unique (item_id, user_id)
);
create index checklist_completions_child on checklist_completions (child_id);
create index checklist_completions_user on checklist_completions (user_id);

insert into checklist_items (code, applies_to, name, description, position) values
    ('medical_form', 'child', 'Medical form signed',
     'The medical form, with allergies and medication, is signed and up to date.', 1),
    ('photo_consent', 'child', 'Photo consent recorded',
     'You have told us whether this child may appear in photos (yes or no).', 2),
    ('emergency_contact_confirmed', 'child', 'Emergency contact confirmed',
     'The emergency contacts are checked and answer their phones during sessions.', 3),
    ('terms', 'parent', 'Terms accepted',
     'You have read and accepted the terms of service.', 1);

