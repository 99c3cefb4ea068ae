//! Label and field selectors: the one matcher for selector strings (`?labelSelector=`), for
//! LabelSelector objects (`matchLabels`/`matchExpressions`) and for Service selectors, and
//! their string form (a Scale's `status.selector`).

use std::fmt;

use serde_json::Value;

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
    /// An expression with an unknown operator: the API server cannot turn it into a
    /// selector, so nothing matches.
    Never,
}

impl Req {
    fn key(&self) -> &str {
        match self {
            Req::Eq(k, _)
            | Req::NotEq(k, _)
            | Req::In(k, _)
            | Req::NotIn(k, _)
            | Req::Exists(k)
            | Req::NotExists(k) => k,
            Req::Never => "",
        }
    }
}

/// A parsed label selector (`a=b,c!=d,e in (f,g),!h`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector(Vec<Req>);

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn set_values(s: &str) -> Result<Vec<String>, String> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("expected (values), got {s:?}"))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    /// Parse; an empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut reqs = Vec::new();
        for part in split_top(s) {
            let req = if let Some(rest) = part.strip_prefix('!') {
                Req::NotExists(rest.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("!=") {
                Req::NotEq(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("==") {
                Req::Eq(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once('=') {
                Req::Eq(k.trim().to_owned(), v.trim().to_owned())
            } else if let Some((k, v)) = part.split_once(" notin ") {
                Req::NotIn(k.trim().to_owned(), set_values(v)?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                Req::In(k.trim().to_owned(), set_values(v)?)
            } else if part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                Req::Exists(part.clone())
            } else {
                return Err(format!("unable to parse requirement: {part:?}"));
            };
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// From a `matchLabels`/`matchExpressions` LabelSelector object.
    pub fn from_object(sel: &Value) -> Self {
        let mut reqs = Vec::new();
        if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in m {
                reqs.push(Req::Eq(k.clone(), v.as_str().unwrap_or("").to_owned()));
            }
        }
        for e in sel
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e["key"].as_str().unwrap_or("").to_owned();
            let values: Vec<String> = e["values"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            reqs.push(match e["operator"].as_str().unwrap_or("") {
                "In" => Req::In(key, values),
                "NotIn" => Req::NotIn(key, values),
                "Exists" => Req::Exists(key),
                "DoesNotExist" => Req::NotExists(key),
                _ => Req::Never,
            });
        }
        LabelSelector(reqs)
    }

    /// From a plain `key: value` map (Service selectors).
    pub fn from_map(m: &Value) -> Self {
        LabelSelector(
            m.as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| Req::Eq(k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
        )
    }

    /// Whether the selector has no requirement.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `labels` (a JSON map, or null) matches.
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::NotEq(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::Never => false,
        })
    }

    /// Whether an object's metadata.labels match.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.is_empty() || self.matches(obj.pointer("/metadata/labels"))
    }
}

/// Whether a Service's `spec.selector` (a plain `key: value` map) selects a pod with
/// `labels`. An empty or absent selector selects nothing: such a Service has no managed
/// endpoints.
pub fn service_selects(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let sel = selector.map(LabelSelector::from_map).unwrap_or_default();
    !sel.is_empty() && sel.matches(labels)
}

/// The API server's string form: requirements sorted by key, set values sorted
/// (`app=web,tier in (back,front),!x`).
impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut reqs: Vec<&Req> = self.0.iter().collect();
        reqs.sort_by(|a, b| a.key().cmp(b.key()));
        let set = |vs: &[String]| {
            let mut vs = vs.to_vec();
            vs.sort();
            vs.join(",")
        };
        for (i, r) in reqs.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match r {
                Req::Eq(k, v) => write!(f, "{k}={v}")?,
                Req::NotEq(k, v) => write!(f, "{k}!={v}")?,
                Req::In(k, vs) => write!(f, "{k} in ({})", set(vs))?,
                Req::NotIn(k, vs) => write!(f, "{k} notin ({})", set(vs))?,
                Req::Exists(k) => f.write_str(k)?,
                Req::NotExists(k) => write!(f, "!{k}")?,
                Req::Never => {}
            }
        }
        Ok(())
    }
}

/// A parsed field selector (`metadata.name=x,status.phase!=Running`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

impl FieldSelector {
    /// Parse; only `=`, `==` and `!=` exist for fields.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some((k, v)) = part.split_once("!=") {
                out.push((k.trim().to_owned(), false, v.trim().to_owned()));
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                out.push((k.trim().to_owned(), true, v.trim().to_owned()));
            } else {
                return Err(format!("invalid field selector: {part:?}"));
            }
        }
        Ok(FieldSelector(out))
    }

    /// Whether the object matches. Missing fields compare as the empty string.
    pub fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, want)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let got = match obj.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (got == *want) == *eq
        })
    }
}

/// A list, watch or deletecollection request's `labelSelector` and `fieldSelector`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selection {
    /// Parse both (empty selects everything).
    pub fn parse(labels: &str, fields: &str) -> Result<Self, String> {
        Ok(Selection {
            labels: LabelSelector::parse(labels)?,
            fields: FieldSelector::parse(fields)?,
        })
    }

    /// Whether `obj` is selected by both.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selector_supports_equality_and_sets() {
        let labels = json!({"app": "web", "tier": "front"});
        assert!(
            LabelSelector::parse("app=web,tier in (front,back)")
                .unwrap()
                .matches(Some(&labels))
        );
        assert!(
            !LabelSelector::parse("app!=web")
                .unwrap()
                .matches(Some(&labels))
        );
        assert!(
            LabelSelector::parse("!missing,app")
                .unwrap()
                .matches(Some(&labels))
        );
        assert!(
            !LabelSelector::parse("tier notin (front)")
                .unwrap()
                .matches(Some(&labels))
        );
    }

    #[test]
    fn label_selector_objects_support_expressions() {
        let sel = LabelSelector::from_object(
            &json!({"matchLabels": {"app": "a"}, "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}, {"key": "x", "operator": "DoesNotExist"}]}),
        );
        assert!(sel.matches(Some(&json!({"app": "a", "tier": "web"}))));
        assert!(!sel.matches(Some(&json!({"app": "a", "tier": "db"}))));
        assert!(!sel.matches(Some(&json!({"app": "a", "tier": "web", "x": "1"}))));
        let unknown = json!({"matchExpressions": [{"key": "x", "operator": "Maybe"}]});
        assert!(!LabelSelector::from_object(&unknown).matches(Some(&json!({}))));
    }

    #[test]
    fn empty_service_selector_selects_nothing() {
        assert!(!service_selects(Some(&json!({})), Some(&json!({"a": "b"}))));
        assert!(!service_selects(None, Some(&json!({"a": "b"}))));
        assert!(service_selects(
            Some(&json!({"a": "b"})),
            Some(&json!({"a": "b", "c": "d"}))
        ));
    }

    #[test]
    fn string_form_sorts_by_key_like_the_api_server() {
        let sel = LabelSelector::from_object(
            &json!({"matchLabels": {"tier": "web"}, "matchExpressions": [{"key": "app", "operator": "In", "values": ["b", "a"]}, {"key": "gone", "operator": "DoesNotExist"}, {"key": "has", "operator": "Exists"}]}),
        );
        assert_eq!(sel.to_string(), "app in (a,b),!gone,has,tier=web");
        assert_eq!(
            LabelSelector::parse(&sel.to_string()).unwrap(),
            LabelSelector::parse("app in (a,b),!gone,has,tier=web").unwrap()
        );
    }

    #[test]
    fn field_selector_reads_nested_fields() {
        let pod = json!({"metadata": {"name": "p"}, "status": {"phase": "Running"}});
        assert!(
            FieldSelector::parse("metadata.name=p,status.phase!=Pending")
                .unwrap()
                .matches(&pod)
        );
        assert!(
            !FieldSelector::parse("metadata.name==q")
                .unwrap()
                .matches(&pod)
        );
    }
}
