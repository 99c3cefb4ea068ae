//! `values.schema.json` validation (draft-07) with messages built from the schema and the
//! path only: a value (`secrets.inline` may hold secrets) is never quoted.

use serde_json::Value;

use super::{SchemaProblem, ValuesError};

/// Validate `values` against a draft-07 `schema`; problems sorted by path.
pub(super) fn validate(schema: &Value, values: &Value) -> Result<Vec<SchemaProblem>, ValuesError> {
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
pub(super) fn pointer_to_path(pointer: &str) -> String {
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
