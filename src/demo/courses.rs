//! The demo's adult courses (issue 12): an Emergency First Aid at Work course type for
//! adults with three-year certificates, led by Aisha; two sessions next month and two
//! past; `learner@portico.test` (Jamie Lee), who passed and booked a colleague as a
//! delegate who failed; and Nadia Brooks, whose certificate expires within 90 days.

use anyhow::Context;
use time::Duration;

use super::{Demo, History, Session};
use crate::certificates::{
    domain::{months_after, new_number},
    store::{self as certificates, NewCertificate},
};
use crate::shifts::domain::{ShiftRole, ShiftStatus};

const COURSE: &str = "Emergency First Aid at Work";
const SYLLABUS: &str = "The role of the first aider; assessing an incident; the unresponsive casualty \
and CPR with an AED; the recovery position; choking; wounds and bleeding; shock; minor injuries. \
Assessed by practical demonstration and a short written test. Meets HSE guidance for workplace \
first aiders.";
const DONE: History = &[
    ("approved", false, "Confirmed straight away: this activity needs no approval."),
    ("completed", true, "All sessions delivered."),
];

impl Demo<'_> {
    pub(super) async fn courses(&mut self, office: i64, aisha: i64, venue: i64) -> anyhow::Result<()> {
        let today = self.today;
        let activity = sqlx::query_scalar!(
            "insert into activities (name, description, default_duration_minutes, default_capacity, price_pence,
                                     booking_cutoff_hours, cancellation_cutoff_hours, min_age_years, audience,
                                     syllabus, certificate_valid_months)
             values ($1, 'One-day course for workplace first aiders (EFAW), for adults.', 390, 12, 7500, 24, 72,
                     16, 'adults', $2, 36) returning id",
            COURSE,
            SYLLABUS,
        )
        .fetch_one(&mut *self.conn)
        .await
        .context("Failed to insert the demo course")?;
        sqlx::query!(
            "insert into activity_required_qualifications (activity_id, name)
             values ($1, 'Level 3 Award in Teaching First Aid')",
            activity
        )
        .execute(&mut *self.conn)
        .await?;
        sqlx::query!(
            "insert into activity_trainers (activity_id, trainer_id) values ($1, $2)",
            activity,
            aisha
        )
        .execute(&mut *self.conn)
        .await?;
        let course = super::Activity { id: activity, minutes: 390, capacity: 12, price_pence: 7500 };
        // Nadia's course was 36 months less 60 days ago: her certificate expires soon.
        let long_ago = months_after(today, -36) + Duration::days(60);
        // Not a Tuesday: Aisha teaches paediatric first aid on Tuesdays.
        let mut recent = today - Duration::days(20);
        if recent.weekday() == time::Weekday::Tuesday {
            recent -= Duration::days(1);
        }
        let mut sessions = Vec::new();
        for date in [long_ago, recent, today + Duration::days(35), today + Duration::days(42)] {
            let s = self.session(course, venue, None, date, (9, 30)).await?;
            if date < today {
                // Worked, without a time entry: those weeks' timesheets are already approved.
                sqlx::query!(
                    "insert into shifts (session_id, trainer_id, role, status, checked_in_at, checked_out_at)
                     values ($1, $2, 'lead', 'checked_out', $3, $4)",
                    s.id,
                    aisha,
                    s.starts,
                    s.ends,
                )
                .execute(&mut *self.conn)
                .await
                .context("Failed to insert a demo course shift")?;
            } else {
                self.shift(&s, None, ShiftRole::Lead, ShiftStatus::Open).await?;
            }
            sessions.push(s);
        }
        let &[old, recent, ..] = sessions.as_slice() else { anyhow::bail!("Expected the demo courses") };

        let jamie_account =
            self.user("learner@portico.test", "Jamie Lee", Some("07700 900301"), "parent", None).await?;
        let nadia_account =
            self.user("nadia@portico.test", "Nadia Brooks", Some("07700 900302"), "parent", None).await?;
        let jamie = self
            .adult(jamie_account, ("self", "Jamie", "Lee", None), "Step-free access: uses a wheelchair.", "")
            .await?;
        let chris = self
            .adult(
                jamie_account,
                ("delegate", "Chris", "Palmer", Some("chris.palmer@example.com")),
                "",
                "Vegan",
            )
            .await?;
        let nadia = self.adult(nadia_account, ("self", "Nadia", "Brooks", None), "", "").await?;
        self.book(office, jamie_account, &[jamie, chris], &[recent], DONE, 30).await?;
        self.book(office, nadia_account, &[nadia], &[old], DONE, 1100).await?;

        self.result(aisha, (recent, jamie_account), (jamie, "Jamie Lee"), "passed", "Confident CPR.").await?;
        self.result(
            aisha,
            (recent, jamie_account),
            (chris, "Chris Palmer"),
            "failed",
            "Needs more practice with adult CPR; welcome to retake.",
        )
        .await?;
        self.result(aisha, (old, nadia_account), (nadia, "Nadia Brooks"), "passed", "").await?;
        Ok(())
    }

    async fn adult(
        &mut self,
        account: i64,
        (kind, first, last, email): (&str, &str, &str, Option<&str>),
        access: &str,
        dietary: &str,
    ) -> anyhow::Result<i64> {
        sqlx::query_scalar!(
            "insert into children (parent_id, kind, first_name, last_name, email, access_needs, dietary_needs)
             values ($1, $2, $3, $4, $5, $6, $7) returning id",
            account,
            kind,
            first,
            last,
            email,
            access,
            dietary,
        )
        .fetch_one(&mut *self.conn)
        .await
        .with_context(|| format!("Failed to insert demo participant {first}"))
    }

    /// A result on a past course, and for a pass its certificate (issued the next day).
    async fn result(
        &mut self,
        trainer: i64,
        (session, account): (Session, i64),
        (learner, name): (i64, &str),
        result: &str,
        note: &str,
    ) -> anyhow::Result<()> {
        let at = session.ends;
        let result_id = sqlx::query_scalar!(
            "insert into course_results (session_id, child_id, result, note, recorded_by, recorded_at)
             values ($1, $2, $3, $4, $5, $6) returning id",
            session.id,
            learner,
            result,
            note,
            trainer,
            at,
        )
        .fetch_one(&mut *self.conn)
        .await
        .context("Failed to insert a demo result")?;
        if result != "passed" {
            return Ok(());
        }
        let certificate = NewCertificate {
            number: new_number(COURSE),
            result_id,
            session_id: session.id,
            activity_id: sqlx::query_scalar!("select activity_id from sessions where id = $1", session.id)
                .fetch_one(&mut *self.conn)
                .await?,
            child_id: learner,
            account_id: account,
            learner_name: name.to_owned(),
            course_name: COURSE.to_owned(),
            course_date: session.date,
            issued_on: session.date + Duration::days(1),
            expires_on: months_after(session.date, 36),
            trainer_name: "Aisha Khan".to_owned(),
        };
        certificates::insert(self.conn, &certificate).await.context("Failed to insert a demo certificate")?;
        Ok(())
    }
}
