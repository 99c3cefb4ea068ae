//! Bounded retries of transient API failures (429 and 5xx but 501).

use std::time::Duration;

use super::error::is_transient;

/// The waits between tries of a transient failure (429/5xx): 4 tries in all, 100 ms,
/// 200 ms and 400 ms apart. Shared by [`retry`] and by callers that read raw responses.
pub const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
];

/// Run `op` and retry transient API errors (429/5xx) after each of [`RETRY_DELAYS`].
/// Anything else is returned at once.
pub async fn retry<T, F, Fut>(mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    for delay in RETRY_DELAYS {
        match op().await {
            Err(e) if is_transient(&e) => {
                tracing::debug!(?delay, "transient API error, retrying: {e}");
                tokio::time::sleep(delay).await;
            }
            other => return other,
        }
    }
    op().await
}
