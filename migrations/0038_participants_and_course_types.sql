-- Issue 12, part A: who attends, and course types.
--
-- `children` is now every participant an account books places for: its children, the
-- account holder themself (`self`) and named adult delegates. The table keeps its name
-- so that every constraint (one place per participant per session, capacity) and every
-- join (registers, emails, exports, data rights) keeps working unchanged; see the README.

alter table children
    add column kind             text not null default 'child',
    add column email            text,
    add column access_needs     text not null default '',
    add column dietary_needs    text not null default '',
    add column language_needs   text not null default '',
    add column other_needs      text not null default '',
    alter column date_of_birth drop not null,
    add constraint children_kind_known check (kind in ('child', 'self', 'delegate')),
    add constraint children_child_has_date_of_birth check (kind <> 'child' or date_of_birth is not null),
    add constraint children_delegate_has_email check (kind <> 'delegate' or email ~ '^[^@\s]+@[^@\s]+$');

-- An account is one `self` participant at most.
create unique index children_one_self_per_account on children (parent_id)
    where kind = 'self' and archived_at is null;

-- Who an activity is for, and what a course type adds: the syllabus shown to customers
-- and how long its certificate is valid (none: the course issues no certificate).
-- The trainer qualification a course needs is `activity_required_qualifications`.
alter table activities
    add column audience                 text not null default 'children',
    add column syllabus                 text not null default '',
    add column certificate_valid_months integer,
    add constraint activities_audience_known check (audience in ('children', 'adults', 'both')),
    add constraint activities_certificate_months_range
        check (certificate_valid_months between 1 and 240);
