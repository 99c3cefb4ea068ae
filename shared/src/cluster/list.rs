//! Listing every object of a kind, page by page.

use std::fmt::Debug;

use kube::api::ListParams;
use kube::{Api, Resource};
use serde::de::DeserializeOwned;

use super::retry::retry;

/// Objects per page: a 1,000-pod namespace is never one huge response held at once.
pub const PAGE_SIZE: u32 = 250;

/// List every object matching `lp`, page by page, each page retried on 429/5xx.
pub async fn list_all<K>(api: &Api<K>, lp: ListParams) -> Result<Vec<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    list_slim(api, lp, |_| {}).await
}

/// [`list_all`], passing each object through `slim` as its page arrives, so only what the
/// caller reads is kept.
pub async fn list_slim<K>(
    api: &Api<K>,
    lp: ListParams,
    slim: impl Fn(&mut K),
) -> Result<Vec<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut items = Vec::new();
    let mut lp = lp.limit(PAGE_SIZE);
    loop {
        let mut page = retry(|| api.list(&lp)).await?;
        page.items.iter_mut().for_each(&slim);
        items.extend(page.items);
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => return Ok(items),
        }
    }
}
