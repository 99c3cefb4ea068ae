//! Image references as the kubelet reads them (docker's `distribution/reference`, through
//! `ParseNormalizedNamed`): the domain split (`docker.io` and `library/` implied), the name,
//! tag and digest grammar, and the errors a malformed reference gives (InvalidImageName).
//! Two spellings come out of it: docker's familiar one (`nginx:1.27`, what minikube's and
//! Docker Desktop's runtime report) and containerd's fully qualified one
//! (`docker.io/library/nginx:1.27`, what kind and k3s report).

/// Docker Hub's domain.
const DEFAULT_DOMAIN: &str = "docker.io";

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host (and port): `docker.io` when none is written.
    pub domain: String,
    /// Repository path within the registry (`library/nginx`).
    pub path: String,
    /// Tag, if written.
    pub tag: Option<String>,
    /// Digest (`sha256:<64 hex>`), if written.
    pub digest: Option<String>,
}

/// `[a-z0-9]+` separated by `.`, `_`, `__` or runs of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < b.len() && matches!(b[i], b'.' | b'_' | b'-') {
            i += 1;
        }
        let sep = &c[run_start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok || sep.is_empty() {
            return false;
        }
    }
    true
}

/// A registry host: DNS labels (letters, digits, inner `-`) joined by `.`, an optional port.
fn valid_domain(d: &str) -> bool {
    let (host, port) = match d.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (d, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    host.split('.').all(label_ok)
        && port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// go-digest's checks of a digest the reference grammar accepted.
fn check_digest(d: &str) -> Result<(), String> {
    let shaped = d.split_once(':').is_some_and(|(alg, hex)| {
        alg.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && alg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+' | b'.'))
            && hex.len() >= 32
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if !shaped {
        return Err("invalid reference format".into());
    }
    let (alg, hex) = d.split_once(':').unwrap_or_default();
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err("unsupported digest algorithm".into()),
    };
    if hex.len() != want {
        return Err("invalid checksum digest length".into());
    }
    if hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("invalid checksum digest format".into());
    }
    Ok(())
}

impl ImageRef {
    /// Parse `image` as `ParseNormalizedNamed` does; the error is the reference library's.
    pub fn parse(image: &str) -> Result<ImageRef, String> {
        if image.len() == 64
            && image
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(format!(
                "invalid repository name ({image}), cannot specify 64-byte hexadecimal strings"
            ));
        }
        let (domain, remainder) = split_domain(image);
        let remote = remainder.split(':').next().unwrap_or("");
        let remote = remote.split('@').next().unwrap_or(remote);
        if remote.to_lowercase() != remote {
            return Err(format!(
                "invalid reference format: repository name ({remote}) must be lowercase"
            ));
        }
        let (rest, digest) = match remainder.split_once('@') {
            Some((r, d)) => (r, Some(d.to_owned())),
            None => (remainder.as_str(), None),
        };
        let (path, tag) = match rest.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, Some(t.to_owned())),
            _ => (rest, None),
        };
        let format = || Err("invalid reference format".to_owned());
        if !valid_domain(&domain) || !path.split('/').all(valid_component) {
            return format();
        }
        if tag.as_deref().is_some_and(|t| !valid_tag(t)) {
            return format();
        }
        if domain.len() + 1 + path.len() > 255 {
            return Err("repository name must not be more than 255 characters".into());
        }
        if let Some(d) = &digest {
            check_digest(d)?;
        }
        Ok(ImageRef {
            domain,
            path: path.to_owned(),
            tag,
            digest,
        })
    }

    /// The fully qualified repository (`docker.io/library/nginx`).
    pub fn repository(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// Docker's short repository (`nginx`, `curlimages/curl`, `ghcr.io/acme/app`).
    pub fn familiar_repository(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            self.path
                .strip_prefix("library/")
                .filter(|p| !p.contains('/'))
                .unwrap_or(&self.path)
                .to_owned()
        } else {
            self.repository()
        }
    }

    /// `:tag` and `@digest` as written, `:latest` when neither is.
    fn suffix(&self) -> String {
        match (&self.tag, &self.digest) {
            (None, None) => ":latest".into(),
            (t, d) => {
                let t = t.as_ref().map(|t| format!(":{t}")).unwrap_or_default();
                let d = d.as_ref().map(|d| format!("@{d}")).unwrap_or_default();
                format!("{t}{d}")
            }
        }
    }

    /// The fully qualified reference, `:latest` added (`docker.io/library/nginx:latest`).
    pub fn qualified(&self) -> String {
        format!("{}{}", self.repository(), self.suffix())
    }

    /// Docker's short reference, `:latest` added (`nginx:latest`).
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_repository(), self.suffix())
    }

    /// The reference by tag alone (`docker.io/library/nginx:1.27`), digest dropped.
    pub fn by_tag(&self) -> Option<String> {
        self.tag
            .as_ref()
            .map(|t| format!("{}:{t}", self.repository()))
    }

    /// The reference by digest alone (`docker.io/library/nginx@sha256:...`).
    pub fn by_digest(&self) -> Option<String> {
        self.digest
            .as_ref()
            .map(|d| format!("{}@{d}", self.repository()))
    }
}

/// `splitDockerDomain`: the first path component is a registry when it has a `.` or a `:`,
/// or is `localhost`; else the registry is Docker Hub and single names are `library/`'s.
fn split_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.to_lowercase() != first =>
        {
            (first.to_owned(), rest.to_owned())
        }
        _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
    };
    if domain == "index.docker.io" {
        domain = DEFAULT_DOMAIN.to_owned();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("library/{remainder}");
    }
    (domain, remainder)
}

/// The kubelet's message for a reference it cannot parse (the container waits in
/// InvalidImageName with it, and the InspectFailed event says it).
pub fn invalid_image_message(image: &str, error: &str) -> String {
    format!(
        "Failed to apply default image tag {image:?}: couldn't parse image name {image:?}: {error}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_split_into_domain_path_tag_and_digest() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.path.as_str()),
            ("docker.io", "library/nginx")
        );
        assert_eq!(r.qualified(), "docker.io/library/nginx:latest");
        assert_eq!(r.familiar(), "nginx:latest");
        let r = ImageRef::parse("curlimages/curl:8.10.1").unwrap();
        assert_eq!(r.qualified(), "docker.io/curlimages/curl:8.10.1");
        assert_eq!(r.familiar(), "curlimages/curl:8.10.1");
        let r = ImageRef::parse("localhost:5000/app:v1").unwrap();
        assert_eq!(
            (r.domain.as_str(), r.tag.as_deref()),
            ("localhost:5000", Some("v1"))
        );
        assert_eq!(r.familiar(), "localhost:5000/app:v1");
        let r = ImageRef::parse(&format!("ghcr.io/acme/app:1.0@{D}")).unwrap();
        assert_eq!(r.by_digest().unwrap(), format!("ghcr.io/acme/app@{D}"));
        assert_eq!(r.by_tag().unwrap(), "ghcr.io/acme/app:1.0");
        let r = ImageRef::parse(&format!("docker.io/library/todo@{D}")).unwrap();
        assert_eq!(r.familiar(), format!("todo@{D}"));
        assert_eq!(
            ImageRef::parse("index.docker.io/library/redis:7")
                .unwrap()
                .familiar(),
            "redis:7"
        );
    }

    #[test]
    fn malformed_references_fail_as_the_reference_library_says() {
        let err = |s: &str| ImageRef::parse(s).unwrap_err();
        assert_eq!(
            err("Todo-Backend:1.0"),
            "invalid reference format: repository name (library/Todo-Backend) must be lowercase"
        );
        assert_eq!(err("app:tag:extra"), "invalid reference format");
        assert_eq!(
            err("https://harbor.example/app:1"),
            "invalid reference format"
        );
        assert_eq!(err("app@sha256:abc"), "invalid reference format");
        assert_eq!(
            err("app@sha256:0123456789abcdef0123456789abcdef"),
            "invalid checksum digest length"
        );
        assert_eq!(
            err(&format!("app@md5:{}", &D[7..])),
            "unsupported digest algorithm"
        );
        assert_eq!(err("app:"), "invalid reference format");
        assert_eq!(err("-app"), "invalid reference format");
        assert!(err(&"a".repeat(300)).contains("255"));
        assert!(ImageRef::parse("my_app__x-y.z:v1.2-rc_3").is_ok());
    }

    #[test]
    fn the_kubelet_wraps_the_error() {
        assert_eq!(
            invalid_image_message("Todo:1", "invalid reference format"),
            "Failed to apply default image tag \"Todo:1\": couldn't parse image name \"Todo:1\": invalid reference format"
        );
    }
}
