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

mod merge;
mod schema;
mod yaml;

pub use merge::{coalesce, merge_maps};
use schema::validate;
use yaml::{values_document, yaml};

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

#[cfg(test)]
mod tests;
