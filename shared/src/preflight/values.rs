//! The values Helm would compute (placeholder until the full implementation lands: the
//! chart's values.yaml deep-merged with each `-f` file; no `--set`, no schema validation).

use std::path::PathBuf;

use crate::error::UserError;

/// Where the chart comes from.
#[derive(Debug, Clone)]
pub enum ChartSource {
    /// A chart directory.
    Dir(PathBuf),
    /// The chart this binary was built with.
    Embedded,
}

/// What the user gave.
#[derive(Debug, Clone)]
pub struct ValuesInput {
    /// The chart.
    pub chart: ChartSource,
    /// `-f` files, in order.
    pub files: Vec<PathBuf>,
    /// `--set`, in order.
    pub set: Vec<String>,
    /// `--set-string`, in order.
    pub set_string: Vec<String>,
}

/// Chart.yaml's facts.
#[derive(Debug, Clone)]
pub struct ChartMeta {
    /// `name`.
    pub name: String,
    /// `version`.
    pub version: String,
    /// `appVersion`.
    pub app_version: Option<String>,
    /// Where it was read.
    pub origin: String,
}

/// A schema violation, without the value.
#[derive(Debug, Clone)]
pub struct SchemaProblem {
    /// Dotted path.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// The computed values.
#[derive(Debug, Clone)]
pub struct Values {
    /// `.Values`.
    pub tree: serde_json::Value,
    /// The chart.
    pub chart: ChartMeta,
    /// Schema violations.
    pub schema_errors: Vec<SchemaProblem>,
}

/// Why the values could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A file.
    #[error("{0}")]
    File(String),
}

impl UserError for ValuesError {
    fn hint(&self) -> Option<String> {
        None
    }
}

const CHART_YAML: &str = include_str!("../../../charts/todo-chatbot/Chart.yaml");
const VALUES_YAML: &str = include_str!("../../../charts/todo-chatbot/values.yaml");

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

fn yaml(text: &str, what: &str) -> Result<serde_json::Value, ValuesError> {
    serde_saphyr::from_str(text).map_err(|_| ValuesError::File(format!("{what} is not YAML")))
}

/// Compute the values.
pub fn compute(input: &ValuesInput) -> Result<Values, ValuesError> {
    let (chart_yaml, values_yaml, origin) = match &input.chart {
        ChartSource::Dir(d) => (
            std::fs::read_to_string(d.join("Chart.yaml"))
                .map_err(|e| ValuesError::File(format!("{}: {e}", d.display())))?,
            std::fs::read_to_string(d.join("values.yaml"))
                .map_err(|e| ValuesError::File(format!("{}: {e}", d.display())))?,
            d.display().to_string(),
        ),
        ChartSource::Embedded => (
            CHART_YAML.to_owned(),
            VALUES_YAML.to_owned(),
            "built-in".to_owned(),
        ),
    };
    let meta = yaml(&chart_yaml, "Chart.yaml")?;
    let mut tree = yaml(&values_yaml, "values.yaml")?;
    for f in &input.files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| ValuesError::File(format!("{}: {e}", f.display())))?;
        merge(&mut tree, yaml(&text, &f.display().to_string())?);
    }
    let s = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    Ok(Values {
        tree,
        chart: ChartMeta {
            name: s("name").unwrap_or_default(),
            version: s("version").unwrap_or_default(),
            app_version: s("appVersion"),
            origin,
        },
        schema_errors: Vec::new(),
    })
}

/// `--chart`, else ./charts/todo-chatbot when present, else the built-in copy.
pub fn default_chart_source(explicit: Option<PathBuf>) -> ChartSource {
    match explicit {
        Some(p) => ChartSource::Dir(p),
        None if std::path::Path::new(crate::chart::DEFAULT_CHART_DIR)
            .join("Chart.yaml")
            .is_file() =>
        {
            ChartSource::Dir(PathBuf::from(crate::chart::DEFAULT_CHART_DIR))
        }
        None => ChartSource::Embedded,
    }
}
