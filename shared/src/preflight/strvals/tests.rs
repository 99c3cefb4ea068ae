use super::*;
use serde_json::json;

fn ok(text: &str) -> Value {
    match parse(text, true) {
        Ok(m) => Value::Object(m),
        Err(e) => panic!("{text}: {e}"),
    }
}

fn err(text: &str) -> StrvalsError {
    match parse(text, true) {
        Ok(m) => panic!("{text}: expected an error, got {m:?}"),
        Err(e) => e,
    }
}

#[test]
fn the_syntax_table() {
    let table = [
        ("a=b", json!({"a": "b"})),
        ("a.b=c,d=e", json!({"a": {"b": "c"}, "d": "e"})),
        ("a={x,y}", json!({"a": ["x", "y"]})),
        ("a={1,true,x}", json!({"a": [1, true, "x"]})),
        ("a={}", json!({"a": [""]})),
        ("a[0]=x", json!({"a": ["x"]})),
        ("a[1].b=c", json!({"a": [null, {"b": "c"}]})),
        ("a[0][1]=x", json!({"a": [[null, "x"]]})),
        ("a[+1]=2", json!({"a": [null, 2]})),
        ("a\\,b=c", json!({"a,b": "c"})),
        ("a\\.b=c", json!({"a.b": "c"})),
        ("a\\=b=c", json!({"a=b": "c"})),
        ("a=b\\,c", json!({"a": "b,c"})),
        ("a=x=y", json!({"a": "x=y"})),
        ("name=", json!({"name": ""})),
        ("a=1,", json!({"a": 1})),
        ("a.b=", json!({"a": {"b": ""}})),
        ("=1", json!({})),
        (".a=1", json!({})),
        ("a[0]", json!({"a": []})),
        ("a[1", json!({})),
        ("a.", json!({})),
        ("a[0].=1", json!({"a": [{}]})),
        ("a=1,a=2", json!({"a": 2})),
        ("a.b=1,a.c=2", json!({"a": {"b": 1, "c": 2}})),
        ("a={x},b=1", json!({"a": ["x"], "b": 1})),
        ("", json!({})),
    ];
    for (text, want) in table {
        assert_eq!(ok(text), want, "{text}");
    }
}

/// Results observed from Helm v4's strvals (through helm-python-sdk's `parse_set_string`)
/// for its quirks, including parsing into what earlier parts of the same argument set.
#[test]
fn quirks_as_helm_gives_them() {
    let table = [
        ("a[0][1]=x", json!({"a": [[null, "x"]]})),
        ("a={1,true,x}", json!({"a": [1, true, "x"]})),
        ("l={1,2,3},l[1]=b", json!({"l": [1, "b", 3]})),
        ("l={1,2},l[0].k=v", json!({"l": [{"k": "v"}, 2]})),
        ("l={x},l[0].y=", json!({"l": [{"y": ""}]})),
        ("a.b[0]", json!({"a": {"b": []}})),
        ("a[0].b=", json!({"a": []})),
        ("a[0][0]", json!({"a": []})),
        ("a=\\", json!({"a": ""})),
        ("x=-", json!({"x": "-"})),
        ("x=+0", json!({"x": 0})),
        ("[0]=1", json!({})),
        ("a[0]=1,a[0].b=2", json!({"a": [{"b": 2}]})),
        ("a.b=1,a..c=2", json!({"a": {"b": 1}})),
        ("x=9223372036854775808", json!({"x": "9223372036854775808"})),
    ];
    for (text, want) in table {
        assert_eq!(ok(text), want, "{text}");
    }
    assert_eq!(ok("a[65536]=1")["a"].as_array().map(Vec::len), Some(65537));
    assert!(matches!(err("a\\"), StrvalsError::NoValue { .. }));
    assert!(matches!(
        err("l={1},l[0][0]=x"),
        StrvalsError::NotAList { .. }
    ));
}

#[test]
fn typing() {
    let table = [
        ("true", json!(true)),
        ("TRUE", json!(true)),
        ("False", json!(false)),
        ("falſe", json!(false)),
        ("null", Value::Null),
        ("NuLL", Value::Null),
        ("0", json!(0)),
        ("-0", json!(0)),
        ("42", json!(42)),
        ("-5", json!(-5)),
        ("+5", json!(5)),
        ("007", json!("007")),
        ("1.5", json!("1.5")),
        ("1e3", json!("1e3")),
        ("9223372036854775807", json!(9223372036854775807_i64)),
        ("9223372036854775808", json!("9223372036854775808")),
        ("yes", json!("yes")),
        ("", json!("")),
        ("sha256:abc", json!("sha256:abc")),
    ];
    for (text, want) in table {
        assert_eq!(typed_value(text.to_owned()), want, "{text}");
    }
    let strings = parse("a=1,b=true,c=null,d={1,2}", false).unwrap();
    assert_eq!(
        Value::Object(strings),
        json!({"a": "1", "b": "true", "c": "null", "d": ["1", "2"]})
    );
}

#[test]
fn malformed_input_is_an_error() {
    assert!(matches!(err("a"), StrvalsError::NoValue { .. }));
    assert!(matches!(err("a.b"), StrvalsError::NoValue { .. }));
    assert!(matches!(err("a,b=1"), StrvalsError::NoValueComma { .. }));
    assert!(matches!(err("a[x]=1"), StrvalsError::BadIndex { .. }));
    assert!(matches!(err("a[ 1]=1"), StrvalsError::BadIndex { .. }));
    assert!(matches!(
        err("a[-1]=1"),
        StrvalsError::NegativeIndex { index: -1 }
    ));
    assert!(matches!(
        err("a[65537]=1"),
        StrvalsError::IndexTooLarge { .. }
    ));
    assert!(matches!(
        err("a[99999999999999999999]=1"),
        StrvalsError::BadIndex { .. }
    ));
    assert!(matches!(err("a[0]x=1"), StrvalsError::AfterIndex { .. }));
    assert!(matches!(
        err("a={x,y"),
        StrvalsError::UnterminatedList { .. }
    ));
    assert!(matches!(err("a={x}y"), StrvalsError::NoValue { .. }));
    assert!(matches!(err("a..b=1"), StrvalsError::EmptyMap { .. }));
    assert!(matches!(err("a=1,a.b=2"), StrvalsError::NotAMap { .. }));
    assert!(matches!(err("a=1,a[0]=2"), StrvalsError::NotAList { .. }));
    assert!(matches!(err("a=null,a.b=2"), StrvalsError::NotAMap { .. }));
    let deep = format!("{}=1", vec!["a"; 32].join("."));
    assert_eq!(err(&deep), StrvalsError::TooDeep);
    let indexes = format!("a{}=1", "[0]".repeat(5000));
    assert_eq!(err(&indexes), StrvalsError::TooDeepIndexes);
    let mixed = format!("a{}=1", "[0].a".repeat(5000));
    assert_eq!(err(&mixed), StrvalsError::TooDeepIndexes);
    assert!(parse(&format!("a{}=1", "[0]".repeat(90)), true).is_ok());
    let ok_deep = format!("{}=1", vec!["a"; 31].join("."));
    assert!(parse(&ok_deep, true).is_ok());
    assert!(parse("a[65536]=1", true).is_ok());
}

#[test]
fn errors_never_quote_values() {
    for text in [
        "a=SNTL,b",
        "a={SNTL",
        "a[0]=SNTL,c",
        "x=SNTL,x.y=1",
        "l[0]=SNTL,l.k=1",
    ] {
        let e = err(text);
        assert!(!e.to_string().contains("SNTL"), "{text}: {e}");
    }
}

#[test]
fn parse_into_keeps_what_is_there() {
    let mut base = match json!({"a": {"x": 1}, "l": [1, 2, 3]}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    };
    parse_into("a.y=2,l[1]=b", &mut base, true).unwrap();
    assert_eq!(
        Value::Object(base.clone()),
        json!({"a": {"x": 1, "y": 2}, "l": [1, "b", 3]})
    );
    parse_into("l[0].k=v", &mut base, false).unwrap();
    assert_eq!(base["l"], json!([{"k": "v"}, "b", 3]));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    #[test]
    fn never_panics(text in "[a-c0-2=,.\\[\\]{}\\\\ -]{0,40}", typed in proptest::bool::ANY) {
        let _ = parse(&text, typed);
    }

    #[test]
    fn never_panics_on_any_text(text in ".{0,60}") {
        let mut base = Map::new();
        let _ = parse_into(&text, &mut base, true);
        let _ = parse_into(&text, &mut base, false);
    }
}
