//! `GET /images/{image_id}`: pictures uploaded as data URLs (see `gatehouse_core::images`), served
//! from this origin. Named by their content, so they are cached for good.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use gatehouse_core::{Core, Error};

use super::ApiResult;

pub async fn image(State(core): State<Core>, Path(id): Path<String>) -> ApiResult<Response> {
    let (content_type, bytes) = core
        .image(&id)
        .await?
        .ok_or_else(|| Error::Status(404, "Image not found.".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CACHE_CONTROL,
                "public, max-age=31536000, immutable".into(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".into(),
            ),
        ],
        bytes,
    )
        .into_response())
}
