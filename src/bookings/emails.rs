//! The emails a booking sends, written to the outbox in the booking's transaction.

use super::{domain::BookingStatus, store::Booking};
use crate::notifications::Email;

/// The email for a booking reaching `status`, if that change tells the parent anything.
pub fn for_status(booking: &Booking, status: BookingStatus, reason: &str, base_url: &str) -> Option<Email> {
    let link = format!("{base_url}/parent/bookings/{}", booking.id);
    let (subject, lead) = match status {
        BookingStatus::Pending => (
            format!("Booking #{} received", booking.id),
            "We have your booking. The office will confirm it shortly.".to_owned(),
        ),
        BookingStatus::Approved => {
            (format!("Booking #{} confirmed", booking.id), "Your booking is confirmed.".to_owned())
        }
        BookingStatus::Rejected => (
            format!("Booking #{} could not be accepted", booking.id),
            format!("We are sorry: we could not accept your booking.\n\nReason: {reason}"),
        ),
        BookingStatus::ChangesRequested => (
            format!("Booking #{}: changes needed", booking.id),
            format!("The office asks for a change before confirming your booking:\n\n{reason}"),
        ),
        BookingStatus::Cancelled => (
            format!("Booking #{} cancelled", booking.id),
            if reason.is_empty() {
                "Your booking has been cancelled.".to_owned()
            } else {
                format!("Your booking has been cancelled.\n\nReason: {reason}")
            },
        ),
        BookingStatus::Lapsed => (
            format!("Booking #{} was not paid in time", booking.id),
            "The card payment for your booking was not completed before its time ran out, so the \
             places we were holding have been released. If places are left you can book again."
                .to_owned(),
        ),
        // The parent is on Stripe's payment page; the confirmation follows the payment.
        BookingStatus::Draft | BookingStatus::AwaitingPayment | BookingStatus::Completed => return None,
    };
    Some(Email {
        to: booking.parent_email.clone(),
        subject,
        body: format!("Hello {},\n\n{lead}\n\nSee the booking: {link}\n", booking.parent_name),
    })
}
