//! The values Helm v4 would render the chart with (`.Values`), computed without Helm, and
//! checked against the chart's `values.schema.json` as Helm checks them.
//!
//! The steps follow Helm's `MergeValues` (pkg/cli/values) and `CoalesceValues`
//! (pkg/chart/common/util):
//! 1. the user's values: each `-f` file in order, deep-merged (maps merge key by key, a
//!    later file wins, lists and scalars replace), then each `--set` parsed *into* that map,
//!    then each `--set-string` (see [`super::strvals`]);
//! 2. coalescing with the chart's `values.yaml`: a user value wins over a default of any
//!    type (Helm only warns when a map meets a scalar), maps are merged, and a user `null`
//!    deletes the default (nulls the chart has no default for are kept, as Helm keeps them);
//! 3. validation of the result against `values.schema.json` (draft-07): the problems are
//!    returned in [`Values::schema_errors`], with messages built here that never contain a
//!    value (`secrets.inline` holds secrets; the validator's own messages quote them).
//!
//! Files are read with a cap ([`VALUES_FILE_LIMIT`]; `-f -` is standard input) and parsed as
//! Helm's YAML library reads them: YAML 1.1 scalars (`yes` is true, `0755` is octal), keys
//! typed and then written as strings (`on:` is the key `true`), a repeated key's last value
//! wins, only the first document counts. Errors name the file and the line, never the
//! content. Numbers from files are float64 in Helm, so an integral float (`1.0`) is the
//! integer it prints as.
//!
//! Not covered: subcharts (the chart has no dependencies), `--set-file`, `--set-json`,
//! `--set-literal`, values files given as URLs.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::strvals::{self, StrvalsError};
use crate::error::UserError;
use crate::secrets::input::{InputError, Origin, read_file, read_stdin};

/// The largest `-f` values file read.
pub const VALUES_FILE_LIMIT: u64 = 1024 * 1024;
/// The largest chart file (Chart.yaml, values.yaml, values.schema.json) read.
pub const CHART_FILE_LIMIT: u64 = 4 * 1024 * 1024;

const EMBEDDED_CHART_YAML: &str = include_str!("../../../charts/todo-chatbot/Chart.yaml");
const EMBEDDED_VALUES_YAML: &str = include_str!("../../../charts/todo-chatbot/values.yaml");
const EMBEDDED_SCHEMA: &str = include_str!("../../../charts/todo-chatbot/values.schema.json");

/// Where the chart comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartSource {
    /// A chart directory (with `Chart.yaml`, `values.yaml`, optionally `values.schema.json`).
    Dir(PathBuf),
    /// The copy of charts/todo-chatbot this binary was built with.
    Embedded,
}

/// What the user passed: the chart and Helm's value flags, in command-line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValuesInput {
    /// The chart.
    pub chart: ChartSource,
    /// `-f` / `--values` files, in order.
    pub files: Vec<PathBuf>,
    /// `--set` arguments, in order.
    pub set: Vec<String>,
    /// `--set-string` arguments, in order.
    pub set_string: Vec<String>,
}

/// The chart's identity, from its Chart.yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartMeta {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `appVersion`, when set.
    pub app_version: Option<String>,
    /// The chart directory, or "built-in copy of todo-chatbot X".
    pub origin: String,
}

/// The computed values.
#[derive(Debug, Clone, PartialEq)]
pub struct Values {
    /// The merged values as templates see `.Values` (defaults deleted by a user `null` are
    /// gone).
    pub tree: Value,
    /// The chart they were computed for.
    pub chart: ChartMeta,
    /// What `values.schema.json` rejects; empty when the values pass (or there is no schema).
    pub schema_errors: Vec<SchemaProblem>,
}

/// One schema violation, without the offending value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SchemaProblem {
    /// Where: a dotted path such as `backend.replicaCount` or `backend.extraEnv[0].name`, or
    /// `(root)`.
    pub path: String,
    /// What is wrong, never quoting the value: "must be an integer".
    pub message: String,
}

impl std::fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why the values could not be computed. Display never contains a value.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A chart file could not be read.
    #[error("cannot read the chart: {source}")]
    ChartRead {
        /// The read error.
        #[source]
        source: InputError,
    },
    /// The chart directory has no Chart.yaml.
    #[error("{} is not a chart directory (no Chart.yaml)", crate::redact::printable(&.dir.display().to_string()))]
    NotAChart {
        /// The directory.
        dir: PathBuf,
    },
    /// Chart.yaml or values.yaml is not what Helm accepts.
    #[error("the chart is invalid: {source}")]
    ChartInvalid {
        /// What is wrong.
        #[source]
        source: InputError,
    },
    /// values.schema.json is not a JSON schema.
    #[error("the chart's values.schema.json is not a valid JSON schema: {problem}")]
    Schema {
        /// What is wrong (the validator's words about the schema, which holds no user value).
        problem: String,
    },
    /// A `-f` file could not be read or parsed.
    #[error("values file: {source}")]
    File {
        /// The read or parse error (names the file and line).
        #[source]
        source: InputError,
    },
    /// A `--set` or `--set-string` argument is malformed.
    #[error("{flag} argument {position} (of {count}): {source}")]
    Set {
        /// `--set` or `--set-string`.
        flag: &'static str,
        /// Which one (1-based) of that flag's arguments.
        position: usize,
        /// How many of them were given.
        count: usize,
        /// What is wrong.
        #[source]
        source: StrvalsError,
    },
}

impl UserError for ValuesError {
    fn hint(&self) -> Option<String> {
        Some(match self {
            ValuesError::ChartRead { .. } | ValuesError::NotAChart { .. } => {
                "pass the chart directory with --chart DIR (it holds Chart.yaml)".into()
            }
            ValuesError::ChartInvalid { .. } | ValuesError::Schema { .. } => {
                "check the chart with `helm lint`".into()
            }
            ValuesError::File {
                source: InputError::TooLarge { .. },
            } => "pass a values file (YAML), not a device or an archive".into(),
            ValuesError::File { .. } => {
                "a values file is a YAML mapping (`key: value`), as for `helm install -f`".into()
            }
            ValuesError::Set { flag, .. } => format!(
                "{flag} takes key=value pairs separated by commas: a.b=1,c={{x,y}},d[0]=z; escape , . = with a backslash"
            ),
        })
    }
}

/// `--chart` when given; else ./charts/todo-chatbot when it holds a Chart.yaml; else the
/// built-in copy.
pub fn default_chart_source(explicit: Option<PathBuf>) -> ChartSource {
    if let Some(dir) = explicit {
        return ChartSource::Dir(dir);
    }
    let local = Path::new(crate::chart::DEFAULT_CHART_DIR);
    if local.join("Chart.yaml").is_file() {
        ChartSource::Dir(local.to_path_buf())
    } else {
        ChartSource::Embedded
    }
}

/// Compute `.Values` for `input` as Helm v4 would, and check them against the chart's schema.
pub fn compute(input: &ValuesInput) -> Result<Values, ValuesError> {
    let chart = load_chart(&input.chart)?;
    let mut user = Map::new();
    for path in &input.files {
        // `-f -` is standard input, as in Helm.
        let stdin = path.as_os_str().to_str().is_some_and(|p| p.trim() == "-");
        let (origin, text) = if stdin {
            (
                Origin::Stdin,
                read_stdin("a values file", VALUES_FILE_LIMIT),
            )
        } else {
            (
                Origin::file(path),
                read_file(path, "a values file", VALUES_FILE_LIMIT),
            )
        };
        let text = text.map_err(|source| ValuesError::File { source })?;
        let map = values_document(&origin, &text).map_err(|source| ValuesError::File { source })?;
        merge_maps(&mut user, map);
    }
    for (flag, args, typed) in [
        ("--set", &input.set, true),
        ("--set-string", &input.set_string, false),
    ] {
        for (i, arg) in args.iter().enumerate() {
            strvals::parse_into(arg, &mut user, typed).map_err(|source| ValuesError::Set {
                flag,
                position: i + 1,
                count: args.len(),
                source,
            })?;
        }
    }
    let tree = Value::Object(coalesce(&chart.defaults, user));
    let schema_errors = match &chart.schema {
        Some(schema) => validate(schema, &tree)?,
        None => Vec::new(),
    };
    Ok(Values {
        tree,
        chart: chart.meta,
        schema_errors,
    })
}

struct LoadedChart {
    meta: ChartMeta,
    defaults: Map<String, Value>,
    schema: Option<Value>,
}

/// A chart's texts: (origin, Chart.yaml), (origin, values.yaml: empty when absent), the
/// schema when present, and the directory (`None` for the built-in copy).
type ChartTexts<'a> = (
    (Origin, String),
    (Origin, String),
    Option<String>,
    Option<&'a PathBuf>,
);

/// Read the chart's files (or take the built-in copy), each capped at [`CHART_FILE_LIMIT`].
fn chart_texts(source: &ChartSource) -> Result<ChartTexts<'_>, ValuesError> {
    let read = |path: &Path| {
        read_file(path, "a chart file", CHART_FILE_LIMIT)
            .map(|t| t.to_string())
            .map_err(|source| ValuesError::ChartRead { source })
    };
    Ok(match source {
        ChartSource::Embedded => (
            (
                Origin::File(PathBuf::from("Chart.yaml")),
                EMBEDDED_CHART_YAML.to_owned(),
            ),
            (
                Origin::File(PathBuf::from("values.yaml")),
                EMBEDDED_VALUES_YAML.to_owned(),
            ),
            Some(EMBEDDED_SCHEMA.to_owned()),
            None,
        ),
        ChartSource::Dir(dir) => {
            let chart_path = dir.join("Chart.yaml");
            if !chart_path.is_file() {
                return Err(ValuesError::NotAChart { dir: dir.clone() });
            }
            let values_path = dir.join("values.yaml");
            let values = if values_path.is_file() {
                read(&values_path)?
            } else {
                String::new()
            };
            let schema_path = dir.join("values.schema.json");
            let schema = if schema_path.is_file() {
                Some(read(&schema_path)?)
            } else {
                None
            };
            (
                (Origin::file(&chart_path), read(&chart_path)?),
                (Origin::file(&values_path), values),
                schema,
                Some(dir),
            )
        }
    })
}

fn load_chart(source: &ChartSource) -> Result<LoadedChart, ValuesError> {
    let (chart_yaml, values_yaml, schema, dir) = chart_texts(source)?;
    let meta_doc = yaml(&chart_yaml.0, &chart_yaml.1)
        .map_err(|source| ValuesError::ChartInvalid { source })?;
    let field = |name: &str| -> Option<String> {
        match meta_doc.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let shape = |problem: &str| ValuesError::ChartInvalid {
        source: InputError::Shape {
            origin: chart_yaml.0.clone(),
            problem: problem.to_owned(),
        },
    };
    let name = field("name").ok_or_else(|| shape("`name` is missing"))?;
    let version = field("version").ok_or_else(|| shape("`version` is missing"))?;
    let app_version = field("appVersion");
    let origin = match dir {
        Some(d) => crate::redact::printable(&d.display().to_string()),
        None => format!("built-in copy of {name} {version}"),
    };
    let defaults = values_document(&values_yaml.0, &values_yaml.1)
        .map_err(|source| ValuesError::ChartInvalid { source })?;
    let schema = match schema {
        Some(text) => {
            Some(
                serde_json::from_str::<Value>(&text).map_err(|e| ValuesError::Schema {
                    problem: format!("line {}: not valid JSON", e.line()),
                })?,
            )
        }
        None => None,
    };
    Ok(LoadedChart {
        meta: ChartMeta {
            name,
            version,
            app_version,
            origin,
        },
        defaults,
        schema,
    })
}

/// Parse YAML as Helm's YAML library reads values (YAML 1.1 booleans and octals, a repeated key's last value wins), reporting
/// only where it failed (the parser's message and snippet would quote the text).
fn yaml(origin: &Origin, text: &str) -> Result<Value, InputError> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    match serde_saphyr::from_str_with_options::<HelmYaml>(text, options.clone()) {
        Ok(doc) => Ok(normalize_numbers(doc.0)),
        Err(e) => {
            // Helm reads only the first document of a multi-document file.
            if let Ok(mut docs) =
                serde_saphyr::from_multiple_with_options::<HelmYaml>(text, options)
                && docs.len() > 1
            {
                return Ok(normalize_numbers(docs.swap_remove(0).0));
            }
            let location = e.location();
            Err(InputError::Yaml {
                origin: origin.clone(),
                line: location.map(|l| l.line()),
                column: location.map(|l| l.column()),
            })
        }
    }
}

/// A YAML document as Helm's YAML-to-JSON conversion gives it: keys are typed like values
/// first (YAML 1.1: an unquoted `yes`, `n` or `off` key is a boolean, `0x10` a number) and
/// then written as strings (`true`, `16`); a null or a collection as a key is an error.
struct HelmYaml(Value);

impl<'de> serde::Deserialize<'de> for HelmYaml {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(YamlVisitor).map(HelmYaml)
    }
}

struct YamlVisitor;

impl<'de> serde::de::Visitor<'de> for YamlVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(Value::from(v as f64))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(Value::from(v as f64))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        // Helm cannot turn an infinity or NaN into JSON either.
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that JSON cannot hold"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(YamlVisitor)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(HelmYaml(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(HelmKey(key)) = map.next_key()? {
            let HelmYaml(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key, as a string the way Helm writes a typed key.
struct HelmKey(String);

impl<'de> serde::Deserialize<'de> for HelmKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor).map(HelmKey)
    }
}

struct KeyVisitor;

impl<'de> serde::de::Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        // Helm's conversion has no string form for a key beyond int64.
        i64::try_from(v)
            .map(|v| v.to_string())
            .map_err(|_| E::custom("an integer mapping key beyond 64 bits"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(float_key(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        Err(E::custom("a null mapping key"))
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<String, E> {
        Err(E::custom("a null mapping key"))
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

/// A float key as Helm writes it: Go's `FormatFloat(f, 'g', -1, 32)`, the shortest digits
/// of the float32, in exponent form below 1e-4 or from 1e6 on (`1e+06`, `1.25e-07`).
fn float_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let x = f as f32;
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let (first, rest) = digits.split_at(1.min(digits.len()));
    if !(-4..6).contains(&exp) {
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

/// A values document: a mapping; an empty document (or `null`) is `{}` as in Helm.
fn values_document(origin: &Origin, text: &str) -> Result<Map<String, Value>, InputError> {
    match yaml(origin, text)? {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        other => Err(InputError::Shape {
            origin: origin.clone(),
            problem: format!(
                "the document is {}, not a mapping of keys to values",
                kind_of(&other)
            ),
        }),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Helm reads file numbers as float64, so `1.0` renders as `1`: integral floats become
/// integers, and integers too large for a float64 to hold exactly are rounded to one.
fn normalize_numbers(value: Value) -> Value {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                // Exact: |f| < 2^53.
                Value::from(f as i64)
            }
            // An integer beyond float64's exact range is rounded, as Helm's float64 is.
            Some(f) if !n.is_f64() && f.abs() >= 9.0e15 => Value::from(f),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(normalize_numbers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, normalize_numbers(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Helm's `MergeMaps` for `-f` files: maps merge recursively, anything else in `src` replaces.
pub fn merge_maps(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, value) in src {
        match (dst.get_mut(&key), value) {
            (Some(Value::Object(d)), Value::Object(s)) => merge_maps(d, s),
            (_, value) => {
                dst.insert(key, value);
            }
        }
    }
}

/// Remove nulls from a map, recursively through maps (not lists), as Helm does to defaults.
fn clean_nulls(map: &mut Map<String, Value>) {
    map.retain(|_, v| !v.is_null());
    for value in map.values_mut() {
        if let Value::Object(inner) = value {
            clean_nulls(inner);
        }
    }
}

/// Helm's coalescing of the user's values (which win) with the chart's defaults.
pub fn coalesce(defaults: &Map<String, Value>, mut user: Map<String, Value>) -> Map<String, Value> {
    for (key, default) in defaults {
        match user.get_mut(key) {
            Some(Value::Null) => {
                user.remove(key);
            }
            Some(Value::Object(dst)) => {
                if let Value::Object(src) = default {
                    let mut src = src.clone();
                    clean_nulls(&mut src);
                    coalesce_tables(dst, src);
                }
                // A default scalar under a user map: Helm warns and keeps the user's map.
            }
            Some(_) => {}
            None => {
                let mut value = default.clone();
                match &mut value {
                    Value::Null => continue,
                    Value::Object(m) => clean_nulls(m),
                    _ => {}
                }
                user.insert(key.clone(), value);
            }
        }
    }
    user
}

/// Coalesce one level below the top: `dst` (the user's) wins; a user null deletes a default.
fn coalesce_tables(dst: &mut Map<String, Value>, src: Map<String, Value>) {
    for (key, default) in src {
        match dst.get_mut(&key) {
            None => {
                dst.insert(key, default);
            }
            Some(Value::Null) => {
                if !default.is_null() {
                    dst.remove(&key);
                }
            }
            Some(Value::Object(d)) => {
                if let Value::Object(s) = default {
                    coalesce_tables(d, s);
                }
                // A default scalar under a user map: the user's map is kept.
            }
            // A user scalar or list over a default of any kind: the user's value is kept.
            Some(_) => {}
        }
    }
}

/// Validate `values` against a draft-07 `schema`; problems sorted by path.
fn validate(schema: &Value, values: &Value) -> Result<Vec<SchemaProblem>, ValuesError> {
    let validator =
        jsonschema::draft7::options()
            .build(schema)
            .map_err(|e| ValuesError::Schema {
                problem: format!("at {}", pointer_to_path(e.schema_path().as_str())),
            })?;
    let mut problems = Vec::new();
    for error in validator.iter_errors(values) {
        let path = pointer_to_path(error.instance_path().as_str());
        for message in describe(error.kind()) {
            problems.push(SchemaProblem {
                path: path.clone(),
                message,
            });
        }
    }
    problems.sort();
    problems.dedup();
    Ok(problems)
}

/// `/backend/extraEnv/0/name` → `backend.extraEnv[0].name`; `` → `(root)`.
fn pointer_to_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(root)".into();
    }
    let mut out = String::new();
    for segment in pointer.trim_start_matches('/').split('/') {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    crate::redact::printable(&out)
}

fn type_name(t: jsonschema::JsonType) -> &'static str {
    use jsonschema::JsonType as T;
    match t {
        T::Null => "null",
        T::Boolean => "a boolean",
        T::Integer => "an integer",
        T::Number => "a number",
        T::String => "a string",
        T::Array => "a list",
        T::Object => "a map",
    }
}

/// Show a value taken from the schema (an enum option, a limit): schemas hold no secrets.
fn schema_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The messages for one error kind, built from the schema's side only.
fn describe(kind: &jsonschema::error::ValidationErrorKind) -> Vec<String> {
    use jsonschema::error::{TypeKind, ValidationErrorKind as K};
    let one = |s: String| vec![s];
    match kind {
        K::AdditionalProperties { unexpected } | K::UnevaluatedProperties { unexpected } => {
            unexpected
                .iter()
                .map(|k| format!("unknown key `{}`", crate::redact::printable(k)))
                .collect()
        }
        K::Type { kind } => match kind {
            TypeKind::Single(t) => one(format!("must be {}", type_name(*t))),
            TypeKind::Multiple(set) => {
                let names: Vec<&str> = set.into_iter().map(type_name).collect();
                one(format!("must be {}", names.join(" or ")))
            }
        },
        K::Enum { options } => {
            let listed = match options.as_ref() {
                Value::Array(items) => items
                    .iter()
                    .map(schema_value)
                    .collect::<Vec<_>>()
                    .join(", "),
                other => schema_value(other),
            };
            one(format!("must be one of {listed}"))
        }
        K::Constant { expected_value } => one(format!("must be {}", schema_value(expected_value))),
        K::Required { property } => {
            one(format!("missing required key `{}`", schema_value(property)))
        }
        K::Pattern { pattern } => one(format!("does not match the pattern `{pattern}`")),
        K::MinLength { limit } => one(format!("must be at least {limit} characters long")),
        K::MaxLength { limit } => one(format!("must be at most {limit} characters long")),
        K::Minimum { limit } => one(format!("must be at least {}", schema_value(limit))),
        K::Maximum { limit } => one(format!("must be at most {}", schema_value(limit))),
        K::ExclusiveMinimum { limit } => {
            one(format!("must be greater than {}", schema_value(limit)))
        }
        K::ExclusiveMaximum { limit } => one(format!("must be less than {}", schema_value(limit))),
        K::MinItems { limit } => one(format!("must have at least {limit} items")),
        K::MaxItems { limit } => one(format!("must have at most {limit} items")),
        K::MinProperties { limit } => one(format!("must have at least {limit} keys")),
        K::MaxProperties { limit } => one(format!("must have at most {limit} keys")),
        K::UniqueItems => one("must not repeat items".into()),
        K::PropertyNames { error } => {
            let inner = describe(error.kind()).join("; ");
            one(format!("has a key name that is not allowed ({inner})"))
        }
        K::FalseSchema => one("is not allowed".into()),
        K::AnyOf { .. } => one("does not match any of the allowed forms".into()),
        K::OneOfNotValid { .. } => one("does not match exactly one of the allowed forms".into()),
        K::OneOfMultipleValid { .. } => one("matches more than one of the allowed forms".into()),
        K::Not { .. } => one("is a form that is not allowed".into()),
        K::Format { format } => one(format!("is not a valid {format}")),
        K::Contains => one("contains no allowed item".into()),
        K::AdditionalItems { limit } => one(format!("must have at most {limit} items")),
        _ => one("does not match the schema".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chart_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/todo-chatbot")
    }

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            other => panic!("not a map: {other}"),
        }
    }

    fn input(set: &[&str], set_string: &[&str], files: Vec<PathBuf>) -> ValuesInput {
        ValuesInput {
            chart: ChartSource::Embedded,
            files,
            set: set.iter().map(|s| s.to_string()).collect(),
            set_string: set_string.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Equal as JSON, numbers compared by value (Helm prints float64s; serde keeps integers).
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    #[test]
    fn vectors_match_real_helm() {
        let text = include_str!("../../../tests/vectors/values-merge.json");
        let vectors: Vec<Value> = serde_json::from_str(text).unwrap();
        assert!(vectors.len() >= 20);
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        let mut failures = Vec::new();
        for vector in &vectors {
            let name = vector["name"].as_str().unwrap();
            let dir = tempfile::tempdir().unwrap();
            // serde_json's map is sorted by key: the files apply in name order, as generated.
            let files = vector["files"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, t)| write(dir.path(), n, t.as_str().unwrap()))
                .collect();
            let input = ValuesInput {
                chart: ChartSource::Dir(chart_dir()),
                files,
                set: strings(&vector["set"]),
                set_string: strings(&vector["set_string"]),
            };
            let got = compute(&input);
            let stage = vector.get("stage").and_then(Value::as_str);
            let ok = match (stage, &got) {
                (None, Ok(v)) => v.schema_errors.is_empty() && same(&v.tree, &vector["values"]),
                (Some("set"), Err(ValuesError::Set { .. })) => true,
                (Some("file"), Err(ValuesError::File { .. })) => true,
                (Some("schema"), Ok(v)) => {
                    let mut paths: Vec<String> =
                        v.schema_errors.iter().map(|p| p.path.clone()).collect();
                    paths.dedup();
                    paths == strings(&vector["schema_paths"]) && same(&v.tree, &vector["coalesced"])
                }
                _ => false,
            };
            if !ok {
                failures.push(format!("{name}: {got:?}"));
            }
        }
        assert!(
            failures.is_empty(),
            "{} vectors differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    #[test]
    fn embedded_chart_parses_and_passes_its_schema() {
        let values = compute(&input(&[], &[], vec![])).unwrap();
        assert_eq!(values.schema_errors, vec![]);
        assert_eq!(values.chart.name, "todo-chatbot");
        assert_eq!(values.chart.version, "0.1.0");
        assert_eq!(values.chart.app_version.as_deref(), Some("1.0.0"));
        assert_eq!(values.chart.origin, "built-in copy of todo-chatbot 0.1.0");
        assert_eq!(values.tree["secrets"]["mode"], "sealed");
        let from_dir = compute(&ValuesInput {
            chart: ChartSource::Dir(chart_dir()),
            ..input(&[], &[], vec![])
        })
        .unwrap();
        assert_eq!(from_dir.tree, values.tree);
    }

    #[test]
    fn default_chart_source_prefers_the_flag() {
        let dir = PathBuf::from("/some/chart");
        assert_eq!(
            default_chart_source(Some(dir.clone())),
            ChartSource::Dir(dir)
        );
    }

    #[test]
    fn a_missing_chart_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = compute(&ValuesInput {
            chart: ChartSource::Dir(dir.path().to_path_buf()),
            ..input(&[], &[], vec![])
        })
        .unwrap_err();
        assert!(matches!(err, ValuesError::NotAChart { .. }), "{err}");
        assert!(err.hint().is_some());
    }

    #[test]
    fn merge_maps_deep_merges_and_replaces_the_rest() {
        let mut dst = map(json!({"a": {"x": 1, "y": 2}, "l": [1, 2], "s": "v", "m": {"k": 1}}));
        merge_maps(
            &mut dst,
            map(json!({"a": {"y": 3, "z": 4}, "l": [9], "s": {"now": "map"}, "m": "scalar"})),
        );
        assert_eq!(
            Value::Object(dst),
            json!({"a": {"x": 1, "y": 3, "z": 4}, "l": [9], "s": {"now": "map"}, "m": "scalar"})
        );
    }

    #[test]
    fn coalesce_rules() {
        let defaults = map(json!({
            "a": {"x": 1, "y": {"deep": true}, "n": null},
            "s": "scalar",
            "m": {"k": 1},
            "gone": {"k": 1},
            "l": [1, 2],
            "nul": null,
        }));
        let user = map(json!({
            "a": {"x": null, "y": {"more": 1}, "extra": null},
            "s": {"user": "map"},
            "m": "user-scalar",
            "gone": null,
            "other": null,
        }));
        let out = coalesce(&defaults, user);
        assert_eq!(
            Value::Object(out),
            json!({
                // x deleted by the user's null; y merged; the default null dropped; the
                // user's null without a default kept, as Helm keeps it.
                "a": {"y": {"deep": true, "more": 1}, "extra": null},
                "s": {"user": "map"},
                "m": "user-scalar",
                "l": [1, 2],
                "other": null,
            })
        );
    }

    #[test]
    fn set_then_set_string_in_order_over_files() {
        let dir = tempfile::tempdir().unwrap();
        let f1 = write(
            dir.path(),
            "1.yaml",
            "backend:\n  replicaCount: 2\n  extraEnv:\n    - name: A\n      value: a\n",
        );
        let f2 = write(dir.path(), "2.yaml", "backend:\n  image:\n    tag: v2\n");
        let values = compute(&input(
            &[
                "backend.replicaCount=3",
                "backend.extraEnv[0].value=b,backend.image.tag=v3",
            ],
            &["backend.image.tag=4"],
            vec![f1, f2],
        ))
        .unwrap();
        assert_eq!(values.schema_errors, vec![]);
        let backend = &values.tree["backend"];
        assert_eq!(backend["replicaCount"], 3);
        // --set parses into the files' values: the list element keeps its other keys.
        assert_eq!(backend["extraEnv"], json!([{"name": "A", "value": "b"}]));
        assert_eq!(backend["image"]["tag"], "4");
        assert_eq!(backend["image"]["repository"], "todo-chatbot-backend");
    }

    #[test]
    fn set_into_a_file_scalar_is_an_error_as_in_helm() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "1.yaml", "backend: off\n");
        let err = compute(&input(&["backend.replicaCount=3"], &[], vec![f])).unwrap_err();
        assert!(
            matches!(
                err,
                ValuesError::Set {
                    source: StrvalsError::NotAMap { .. },
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn set_errors_name_the_argument_never_the_value() {
        let err = compute(&input(&["a=1", "secrets.inline.KEY=SNTL,b"], &[], vec![])).unwrap_err();
        let text = err.to_string();
        assert_eq!(text, "--set argument 2 (of 2): key `b` has no value");
        let err = compute(&input(&[], &["x={SNTL"], vec![])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("--set-string argument 1 (of 1): "),
            "{text}"
        );
        assert!(!text.contains("SNTL"), "{text}");
        assert!(err.hint().is_some_and(|h| h.contains("key=value")));
    }

    #[test]
    fn file_errors_name_the_file_and_line_never_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.yaml", "a: 1\nsecret: [SNTL\n  b: {\n");
        let err = compute(&input(&[], &[], vec![bad])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bad.yaml: line "), "{text}");
        assert!(!text.contains("SNTL"), "{text}");

        let list = write(dir.path(), "list.yaml", "- SNTL\n");
        let text = compute(&input(&[], &[], vec![list]))
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("list.yaml: the document is a list, not a mapping"),
            "{text}"
        );
        assert!(!text.contains("SNTL"), "{text}");

        let scalar = write(dir.path(), "scalar.yaml", "SNTL\n");
        let text = compute(&input(&[], &[], vec![scalar]))
            .unwrap_err()
            .to_string();
        assert!(text.contains("a string, not a mapping"), "{text}");
        assert!(!text.contains("SNTL"), "{text}");

        let big = write(dir.path(), "big.yaml", &"a: 1\n".repeat(300_000));
        let err = compute(&input(&[], &[], vec![big])).unwrap_err();
        assert!(err.to_string().contains("is larger than 1 MiB"), "{err}");
        assert!(err.hint().is_some());

        let missing = dir.path().join("missing.yaml");
        let err = compute(&input(&[], &[], vec![missing])).unwrap_err();
        assert!(err.to_string().contains("missing.yaml"), "{err}");

        let empty = write(dir.path(), "empty.yaml", "");
        let values = compute(&input(&[], &[], vec![empty])).unwrap();
        assert_eq!(values.schema_errors, vec![]);
    }

    #[test]
    fn schema_messages_never_contain_values() {
        let values = compute(&input(
            &[
                "secrets.mode=plainSNTL,foo=SNTL,backend.replicaCount=SNTL",
                "secrets.inline.DATABASE_URL=mysqlSNTL://x,secrets.inline.BETTER_AUTH_SECRET=SNTL",
                "config.extra.bad-name=SNTL,frontend.autoscaling.minReplicas=-1",
            ],
            &[],
            vec![],
        ))
        .unwrap();
        let shown: Vec<String> = values.schema_errors.iter().map(|p| p.to_string()).collect();
        for line in &shown {
            assert!(!line.contains("SNTL"), "{line}");
        }
        for want in [
            "secrets.mode: must be one of sealed, existingSecret, inline",
            "(root): unknown key `foo`",
            "backend.replicaCount: must be an integer",
            "secrets.inline.DATABASE_URL: does not match the pattern `^postgres(ql)?://`",
            "secrets.inline.BETTER_AUTH_SECRET: must be at least 32 characters long",
            "frontend.autoscaling.minReplicas: must be at least 1",
        ] {
            assert!(
                shown.iter().any(|l| l == want),
                "missing {want:?} in {shown:#?}"
            );
        }
        assert!(
            shown
                .iter()
                .any(|l| l.starts_with("config.extra: has a key name that is not allowed")),
            "{shown:#?}"
        );
    }

    #[test]
    fn yaml_like_helm() {
        let o = Origin::Stdin;
        let doc = yaml(&o, "a: yes\nb: 0777\nc: 1.0\nd: 0.5\ne: 0x10\nf: 1\nf: 2\n").unwrap();
        assert_eq!(
            doc,
            json!({"a": true, "b": 511, "c": 1, "d": 0.5, "e": 16, "f": 2})
        );
    }

    #[test]
    fn pointers_become_dotted_paths() {
        assert_eq!(pointer_to_path(""), "(root)");
        assert_eq!(
            pointer_to_path("/backend/extraEnv/0/name"),
            "backend.extraEnv[0].name"
        );
        assert_eq!(pointer_to_path("/commonLabels/a~1b"), "commonLabels.a/b");
    }
}
