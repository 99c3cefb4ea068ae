//! Values files read as Helm's YAML library reads them (YAML 1.1 booleans and octals, keys
//! stringified, the last of repeated keys wins, numbers as float64), with errors that say
//! where, never what.

use serde_json::{Map, Value};

use crate::secrets::input::{InputError, Origin};

/// Parse YAML as Helm's YAML library reads values (YAML 1.1 booleans and octals, a repeated key's last value wins), reporting
/// only where it failed (the parser's message and snippet would quote the text).
pub(super) fn yaml(origin: &Origin, text: &str) -> Result<Value, InputError> {
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
pub(super) fn values_document(
    origin: &Origin,
    text: &str,
) -> Result<Map<String, Value>, InputError> {
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
