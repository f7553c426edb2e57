//! Static files, embedded in the binary so it serves them from any working directory.
//!
//! Each is answered under a name with a hash of its content (`/static/app.3f9a1c2e.css`,
//! cached for a year: a new version has a new name) and under its plain name (cached
//! briefly, for bookmarks and old pages). Templates take the hashed name from the
//! constants here, e.g. `APP_CSS`; `build.rs` computes them.

use axum::{
    Router,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::Path;

pub struct Asset {
    pub plain: &'static str,
    pub hashed: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const BRIEFLY: &str = "public, max-age=300";

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/static/{file}", get(serve))
}

/// A file under `/static/`, by its hashed or its plain name; any other name is a 404.
struct Served {
    asset: &'static Asset,
    cache_control: &'static str,
}

impl<'de> serde::Deserialize<'de> for Served {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let file = String::deserialize(deserializer)?;
        FILES
            .iter()
            .find_map(|asset| {
                if asset.hashed == file {
                    Some(Served { asset, cache_control: IMMUTABLE })
                } else if asset.plain == file {
                    Some(Served { asset, cache_control: BRIEFLY })
                } else {
                    None
                }
            })
            .ok_or_else(|| serde::de::Error::custom("no such file"))
    }
}

async fn serve(Path(Served { asset, cache_control }): Path<Served>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache_control)),
        ],
        asset.body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_name_that_its_constant_gives() {
        assert!(FILES.iter().any(|a| format!("/static/{}", a.hashed) == APP_CSS));
        assert!(FILES.iter().any(|a| format!("/static/{}", a.hashed) == CHECKIN_JS));
        for asset in FILES {
            assert_ne!(asset.plain, asset.hashed);
            assert!(!asset.body.is_empty());
        }
    }
}
