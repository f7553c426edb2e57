-- One definition of "qualified to deliver this activity on this day", shared by the
-- office's assignment checks and the trainer's open shifts: linked to the activity,
-- and holding every qualification it requires, unexpired on the day.
create function trainer_qualified(trainer bigint, activity bigint, on_date date) returns boolean
language sql stable as $$
    select exists (select 1 from activity_trainers at where at.activity_id = activity and at.trainer_id = trainer)
       and not exists (
           select 1 from activity_required_qualifications q
           where q.activity_id = activity
             and not exists (select 1 from trainer_qualifications tq
                             where tq.trainer_id = trainer and lower(tq.name) = lower(q.name)
                               and (tq.expires_on is null or tq.expires_on >= on_date)))
$$;
