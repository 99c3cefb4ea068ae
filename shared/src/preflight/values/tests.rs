use super::schema::pointer_to_path;
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
    let text = include_str!("../../../../tests/vectors/values-merge.json");
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
