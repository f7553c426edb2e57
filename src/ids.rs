//! Typed ids, one per kind of row, so a booking's id cannot be passed where a child's
//! is expected. Each is the row's `bigint` (`sqlx` transparent), reads from a path
//! segment or a form field (serde transparent) and prints as the bare number.
//!
//! In a route, take them through `web::Path` (`Path<BookingId>`,
//! `Path<(SessionId, ChildId)>`): a segment that is not a number is a 404, like an id
//! that is not the user's.

use std::{fmt, str::FromStr};

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, sqlx::Type,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                raw.trim().parse().map($name)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

ids! {
    /// A row of `users`: a parent, trainer or admin.
    UserId;
    /// A trainer's `users` row (trainers are users with a profile).
    TrainerId;
    ChildId;
    BookingId;
    SessionId;
    SeriesId;
    ActivityId;
    VenueId;
    ShiftId;
    TimeEntryId;
    TimesheetId;
    TimeOffRequestId;
    AvailabilityId;
    AvailabilityExceptionId;
    WaitlistEntryId;
    PaymentId;
    RefundId;
    /// A refund a cancellation or a move owes (`cancellation_refunds`).
    CancellationRefundId;
    DiscountCodeId;
    PackageId;
    PackagePurchaseId;
    IncidentId;
    ConcernId;
    EmergencyContactId;
    CollectorId;
    ChecklistItemId;
    ClientAssignmentId;
    ApplicationId;
    OutboxEmailId;
    ErasureRequestId;
    AuditId;
    /// A row of `trainer_qualifications`.
    QualificationId;
    /// A row of `trainer_emergency_contacts`.
    TrainerContactId;
    /// An issued certificate (`certificates`).
    CertificateId;
    /// A question from the public (`inquiries`).
    InquiryId;
    /// Places the office keeps on a session for a while (`provisional_holds`).
    HoldId;
    /// A file or video link attached to a course or a session (`course_materials`).
    MaterialId;
}
