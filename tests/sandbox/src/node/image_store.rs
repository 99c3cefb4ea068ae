//! A node's image store and the registry, as images with a repository, tags and a digest:
//! what `node.status.images` lists (digest names first, then tags, docker's familiar names or
//! containerd's qualified ones), whether a reference is present (by digest when it has one,
//! else by tag), and the `image`/`imageID` a container status reports.
//!
//! Scenario entries are references: `repo:tag` (a digest is made up for it), or
//! `repo:tag@sha256:...` / `repo@sha256:...` with the digest given.

use crate::apps;
use crate::image_ref::ImageRef;
use crate::platform::Runtime;
use crate::scenario::Scenario;
use crate::state::SimState;

/// One image in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// The parsed repository (tag and digest unset).
    pub repository: ImageRef,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its digest (`sha256:<hex>`).
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The made-up digest of an image given by tag.
pub fn made_up_digest(r: &ImageRef) -> String {
    let tagged = ImageRef {
        digest: None,
        ..r.clone()
    };
    format!("sha256:{}", apps::digest(&tagged.familiar()))
}

/// The images the references `entries` name (unparsable ones are skipped), one per
/// repository and digest.
pub fn parse_store<'a>(entries: impl IntoIterator<Item = &'a str>) -> Vec<StoredImage> {
    let mut out: Vec<StoredImage> = Vec::new();
    for entry in entries {
        let Ok(r) = ImageRef::parse(entry) else {
            continue;
        };
        let digest = r.digest.clone().unwrap_or_else(|| made_up_digest(&r));
        let repository = ImageRef {
            tag: None,
            digest: None,
            ..r.clone()
        };
        let tag = r
            .tag
            .clone()
            .or_else(|| r.digest.is_none().then(|| "latest".to_owned()));
        match out
            .iter_mut()
            .find(|i| i.repository == repository && i.digest == digest)
        {
            Some(img) => {
                if let Some(t) = tag.filter(|t| !img.tags.contains(t)) {
                    img.tags.push(t);
                }
            }
            None => {
                let hex = digest.trim_start_matches("sha256:");
                let size = 150_000_000
                    + u64::from_str_radix(hex.get(..6).unwrap_or("0"), 16).unwrap_or(0) * 8;
                out.push(StoredImage {
                    repository,
                    tags: tag.into_iter().collect(),
                    digest,
                    size,
                });
            }
        }
    }
    out
}

/// The image `r` names in `store`: same repository, and the same digest when `r` has one
/// (the tag is then ignored, as the runtimes do), else the same tag (`latest` implied).
pub fn find<'a>(store: &'a [StoredImage], r: &ImageRef) -> Option<&'a StoredImage> {
    let repository = ImageRef {
        tag: None,
        digest: None,
        ..r.clone()
    };
    store.iter().find(|img| {
        img.repository == repository
            && match (&r.digest, &r.tag) {
                (Some(d), _) => img.digest == *d,
                (None, Some(t)) => img.tags.contains(t),
                (None, None) => img.tags.iter().any(|t| t == "latest"),
            }
    })
}

/// Whether `store` has any image of `r`'s repository.
pub fn has_repository(store: &[StoredImage], r: &ImageRef) -> bool {
    store
        .iter()
        .any(|img| img.repository.repository() == r.repository())
}

/// The images of node `i`: its scenario list plus what was preloaded or pulled.
pub fn node_store(scenario: &Scenario, sim: &SimState, i: usize) -> Vec<StoredImage> {
    let spec = scenario.node_spec(i);
    let mut extra: Vec<&String> = sim.extra_images.iter().collect();
    extra.sort();
    parse_store(
        spec.images
            .iter()
            .map(String::as_str)
            .chain(extra.into_iter().map(String::as_str)),
    )
}

/// The registry's images.
pub fn registry_store(scenario: &Scenario) -> Vec<StoredImage> {
    parse_store(scenario.registry.iter().map(String::as_str))
}

/// `names` of an image in `node.status.images`: digest references, then tags.
pub fn names(img: &StoredImage, runtime: Runtime) -> Vec<String> {
    let repo = match runtime {
        Runtime::Docker => img.repository.familiar_repository(),
        Runtime::Containerd => img.repository.repository(),
    };
    std::iter::once(format!("{repo}@{}", img.digest))
        .chain(img.tags.iter().map(|t| format!("{repo}:{t}")))
        .collect()
}

/// The `image` a container status reports for spec image `r`.
pub fn status_image(r: &ImageRef, runtime: Runtime) -> String {
    match runtime {
        Runtime::Docker => r.familiar(),
        Runtime::Containerd => r
            .by_tag()
            .or_else(|| r.by_digest())
            .unwrap_or_else(|| r.qualified()),
    }
}

/// The `imageID` a container status reports for an image with `digest`.
pub fn image_id(r: &ImageRef, digest: &str, runtime: Runtime) -> String {
    match runtime {
        Runtime::Docker => format!("docker-pullable://{}@{digest}", r.familiar_repository()),
        Runtime::Containerd => format!("{}@{digest}", r.repository()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:89abcdef0123456789abcdef0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn tags_and_digests_of_the_same_image_merge() {
        let store = parse_store([
            "todo-chatbot-backend:1.0.0",
            &format!("ghcr.io/acme/app:1.0@{D}"),
            &format!("ghcr.io/acme/app:stable@{D}"),
            &format!("docker.io/library/redis@{D}"),
        ]);
        assert_eq!(store.len(), 3);
        assert_eq!(store[1].tags, ["1.0", "stable"]);
        assert!(store[2].tags.is_empty());
        let r = |s: &str| ImageRef::parse(s).unwrap();
        assert!(find(&store, &r("todo-chatbot-backend:1.0.0")).is_some());
        assert!(find(&store, &r("docker.io/library/todo-chatbot-backend:1.0.0")).is_some());
        assert!(find(&store, &r("todo-chatbot-backend:9.9.9")).is_none());
        assert!(has_repository(&store, &r("todo-chatbot-backend:9.9.9")));
        assert!(find(&store, &r(&format!("redis@{D}"))).is_some());
        assert!(
            find(&store, &r(&format!("ghcr.io/acme/app:other@{D}"))).is_some(),
            "the digest decides"
        );
        let backend = find(&store, &r("todo-chatbot-backend:1.0.0")).unwrap();
        let by_digest = format!("todo-chatbot-backend@{}", backend.digest);
        assert!(find(&store, &r(&by_digest)).is_some());
    }

    #[test]
    fn names_follow_the_runtime() {
        let store = parse_store(["curlimages/curl:8.10.1"]);
        let docker = names(&store[0], Runtime::Docker);
        assert!(docker[0].starts_with("curlimages/curl@sha256:"));
        assert_eq!(docker[1], "curlimages/curl:8.10.1");
        let containerd = names(&store[0], Runtime::Containerd);
        assert!(containerd[0].starts_with("docker.io/curlimages/curl@sha256:"));
        assert_eq!(containerd[1], "docker.io/curlimages/curl:8.10.1");
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(status_image(&r, Runtime::Docker), "nginx:latest");
        assert_eq!(
            status_image(&r, Runtime::Containerd),
            "docker.io/library/nginx:latest"
        );
    }
}
