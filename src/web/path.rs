//! Path parameters that answer 404 themselves: `Path<BookingId>` for
//! `/admin/bookings/{id}`, `Path<(SessionId, ChildId)>` for two. A segment that does
//! not parse (`/admin/bookings/abc`, a number too large) is "not found", exactly like
//! an id that does not exist or is not the user's.

use axum::{
    extract::{FromRequestParts, rejection::PathRejection},
    http::request::Parts,
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(AppError::NotFound),
            // A route whose pattern lacks the parameter is a bug, not a missing page.
            Err(other) => Err(AppError::Internal(anyhow::anyhow!("path parameters: {other}"))),
        }
    }
}
