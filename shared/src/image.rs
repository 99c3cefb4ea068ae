//! Container image references as the kubelet reads them (docker's `distribution/reference`):
//! parse and check one, spell it the way nodes report it, and find it among the images a node
//! holds (`node.status.images[].names`, which mixes `x:1` and `docker.io/library/x:1`).
//!
//! The sandbox has its own parser (`tests/sandbox/src/image_ref.rs`) on purpose: it plays the
//! kubelet, and an independent implementation is what catches a wrong rule here. Both follow
//! the same grammar; the e2e tests (InvalidImageName, typo'd tags) exercise them together.

use std::fmt;

/// Docker Hub's domain, implied when a reference names none.
const DEFAULT_DOMAIN: &str = "docker.io";
/// The longest repository name a registry accepts.
const MAX_NAME: usize = 255;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (and port), `docker.io` when none is written.
    pub domain: String,
    /// Repository path in the registry (`library/nginx` for `nginx`).
    pub path: String,
    /// The tag, if written.
    pub tag: Option<String>,
    /// The digest (`sha256:<hex>`), if written.
    pub digest: Option<String>,
}

/// Why a reference is not valid (what the kubelet reports as InvalidImageName).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// Nothing written.
    #[error("the image reference is empty")]
    Empty,
    /// Upper-case letters in the repository.
    #[error("the repository name must be lowercase")]
    Uppercase,
    /// A path component breaks the grammar.
    #[error(
        "the repository name has an invalid component (lowercase letters, digits and single `.`, `_`, `__` or `-` runs between them)"
    )]
    Component,
    /// The tag breaks the grammar.
    #[error(
        "the tag is invalid (letters, digits, `_`, `.`, `-`; at most 128, not starting with `.` or `-`)"
    )]
    Tag,
    /// The digest is not `algorithm:hex`.
    #[error("the digest is invalid (sha256: and 64 hex digits)")]
    Digest,
    /// The repository name is too long.
    #[error("the repository name is longer than {MAX_NAME} characters")]
    TooLong,
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|x| x.is_ascii_alphanumeric() || matches!(x, b'_' | b'.' | b'-'))
}

fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some(("sha256", hex)) => {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|x| x.is_ascii_digit() || (b'a'..=b'f').contains(&x))
        }
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg
                    .bytes()
                    .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || b"+.-_".contains(&x))
                && hex.len() >= 32
                && hex.bytes().all(|x| x.is_ascii_hexdigit())
        }
        None => false,
    }
}

/// Whether the first component of a name is a registry host: it has a `.` or a `:`, or is
/// `localhost` (docker's rule).
fn is_domain(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

impl ImageRef {
    /// Parse a reference (`name[:tag][@digest]`), normalising the domain and Docker Hub's
    /// `library/` prefix as the kubelet does.
    pub fn parse(text: &str) -> Result<ImageRef, RefError> {
        if text.is_empty() {
            return Err(RefError::Empty);
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => {
                if !valid_digest(d) {
                    return Err(RefError::Digest);
                }
                (r, Some(d.to_owned()))
            }
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(RefError::Tag);
                }
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(RefError::Empty);
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, path)) if is_domain(first) => (first.to_owned(), path.to_owned()),
            _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
        };
        if path.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(RefError::Uppercase);
        }
        if !path.split('/').all(valid_component) {
            return Err(RefError::Component);
        }
        if name.len() > MAX_NAME {
            return Err(RefError::TooLong);
        }
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("library/{path}")
        } else {
            path
        };
        Ok(ImageRef {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// `docker.io/library/x` (no tag, no digest).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The tag, `latest` when none is written and no digest pins the image.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// Whether a node that reports `names` (`node.status.images[].names`, any spelling)
    /// holds this image: by digest when one is written (what the kubelet pulls), else by tag.
    pub fn held_in<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> bool {
        let repo = self.repository();
        names
            .into_iter()
            .filter_map(|n| ImageRef::parse(n).ok())
            .any(|n| {
                n.repository() == repo
                    && match &self.digest {
                        Some(d) => n.digest.as_ref() == Some(d),
                        None => n.digest.is_none() && n.effective_tag() == self.effective_tag(),
                    }
            })
    }

    /// The other tags of this repository among `names`, in the short spelling, sorted.
    pub fn other_tags<'a>(&self, names: impl IntoIterator<Item = &'a String>) -> Vec<String> {
        let repo = self.repository();
        let mut out: Vec<String> = names
            .into_iter()
            .filter_map(|n| ImageRef::parse(n).ok())
            .filter(|n| n.repository() == repo && n.digest.is_none() && n.tag != self.tag)
            .map(|n| n.familiar())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// docker's short spelling: `x:1` for `docker.io/library/x:1`.
    pub fn familiar(&self) -> String {
        let mut s = if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.repository()
        };
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

/// Every image reference the nodes report holding (`node.status.images[].names`: tags and
/// digests, as the runtime spells them).
pub fn held_by(nodes: &[k8s_openapi::api::core::v1::Node]) -> Vec<String> {
    nodes
        .iter()
        .filter_map(|n| n.status.as_ref()?.images.as_ref())
        .flatten()
        .flat_map(|i| i.names.iter().flatten().cloned())
        .collect()
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_and_normalises_like_docker() {
        let r = ImageRef::parse("todo-chatbot-backend:1.0.0").unwrap();
        assert_eq!(r.repository(), "docker.io/library/todo-chatbot-backend");
        assert_eq!(r.tag.as_deref(), Some("1.0.0"));
        assert_eq!(r.familiar(), "todo-chatbot-backend:1.0.0");
        let r = ImageRef::parse("localhost:5000/a/b").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str(), r.effective_tag()),
            ("localhost:5000", "a/b", Some("latest"))
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("ghcr.io/o/x:1@{d}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.familiar(), format!("ghcr.io/o/x:1@{d}"));
    }

    #[test]
    fn rejects_what_the_kubelet_rejects() {
        for (text, want) in [
            ("", RefError::Empty),
            ("Todo:1", RefError::Uppercase),
            ("todo:", RefError::Tag),
            ("todo:-x", RefError::Tag),
            ("todo@sha256:abc", RefError::Digest),
            ("to..do:1", RefError::Component),
            ("-todo:1", RefError::Component),
            (":1", RefError::Empty),
        ] {
            assert_eq!(ImageRef::parse(text), Err(want), "{text:?}");
        }
        assert_eq!(ImageRef::parse(&"a".repeat(300)), Err(RefError::TooLong));
    }

    #[test]
    fn finds_an_image_in_either_spelling() {
        let names: Vec<String> = vec![
            "docker.io/library/todo-chatbot-backend:1.0.0".into(),
            "todo-chatbot-frontend:1.0.0".into(),
            format!("docker.io/library/pinned@sha256:{}", "b".repeat(64)),
        ];
        let held = |r: &str| ImageRef::parse(r).unwrap().held_in(&names);
        assert!(held("todo-chatbot-backend:1.0.0"));
        assert!(held("docker.io/library/todo-chatbot-frontend:1.0.0"));
        assert!(!held("todo-chatbot-backend:9.9.9"));
        assert!(!held("todo-chatbot-backend"), "latest is not 1.0.0");
        assert!(held(&format!("pinned:2@sha256:{}", "b".repeat(64))));
        assert!(!held(&format!("pinned@sha256:{}", "c".repeat(64))));
        let tags = ImageRef::parse("todo-chatbot-backend:9.9.9")
            .unwrap()
            .other_tags(&names);
        assert_eq!(tags, vec!["todo-chatbot-backend:1.0.0".to_owned()]);
    }

    proptest::proptest! {
        /// Any text: a reference or a reason, never a panic; what parses spells back to
        /// itself.
        #[test]
        fn any_text_parses_or_is_refused_and_round_trips(text in "\\PC{0,80}|[a-z0-9./:@_-]{0,60}") {
            if let Ok(r) = ImageRef::parse(&text) {
                let again = ImageRef::parse(&r.familiar());
                proptest::prop_assert_eq!(again, Ok(r));
            }
        }
    }
}
