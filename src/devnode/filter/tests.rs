use super::*;
use serde_json::{json, Map};

fn doc(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn check(src: &str, d: &Map<String, Value>) -> bool {
    match parse(src) {
        Ok(Some(f)) => f.matches(d),
        other => panic!("{src}: {other:?}"),
    }
}

/// Comparisons, ranges, IN, EXISTS and boolean operators evaluate as Meilisearch does.
#[test]
fn common_forms_evaluate() {
    let d = doc(
        json!({"genre": "SciFi", "year": 1980, "rating": 8.5, "tags": ["space", "classic"], "n": null}),
    );
    assert!(check("genre = scifi", &d));
    assert!(check("genre = 'SCIFI'", &d));
    assert!(check("year >= 1980 AND year < 1981", &d));
    assert!(!check("year > 1980", &d));
    assert!(check("rating 8 TO 8.5", &d));
    assert!(!check("rating 8.6 TO 9", &d));
    assert!(check("genre IN [drama, scifi]", &d));
    assert!(check("genre NOT IN [drama, horror]", &d));
    assert!(check("tags = classic", &d));
    assert!(check("tags EXISTS AND missing NOT EXISTS", &d));
    assert!(check("NOT genre = drama", &d));
    assert!(check("genre = drama OR year = 1980", &d));
    assert!(check(
        "(genre = drama OR year = 1980) AND NOT (tags = war)",
        &d
    ));
    assert!(check("missing != 3", &d));
    assert!(check("n IS NULL AND genre IS NOT EMPTY", &d));
    assert!(check("year = \"1980\"", &d));
    assert!(check("genre CONTAINS cif AND genre STARTS WITH sci", &d));
}

/// AND binds tighter than OR.
#[test]
fn and_binds_tighter_than_or() {
    let d = doc(json!({"a": 1, "b": 2, "c": 3}));
    assert!(check("a = 9 AND b = 9 OR c = 3", &d));
    assert!(!check("a = 9 AND (b = 9 OR c = 3)", &d));
}

/// The array form is an AND of its items, and an inner array an OR.
#[test]
fn array_form_is_and_of_ors() {
    let f = parse_value(
        &json!([["genre = drama", "genre = comedy"], "year < 1990"]),
        "invalid_search_filter",
        None,
    );
    let f = f.ok().flatten();
    assert!(f
        .as_ref()
        .is_some_and(|f| f.matches(&doc(json!({"genre": "comedy", "year": 1959})))));
    assert!(f
        .as_ref()
        .is_some_and(|f| !f.matches(&doc(json!({"genre": "comedy", "year": 2001})))));
}

/// Attribute spans are character offsets, inside quotes for quoted attributes, and survive canonicalisation.
#[test]
fn spans_and_canonical_form() {
    let f = parse("nope = 1").ok().flatten();
    assert_eq!(
        f.as_ref().map(|f| f.attributes()),
        Some(vec![("nope", (0, 4))])
    );
    let canon = f.map(|f| f.canonical()).unwrap_or_default();
    assert_eq!(canon, "\"nope\" = \"1\"");
    let again = parse(&canon).ok().flatten();
    assert_eq!(
        again.as_ref().map(|f| f.attributes()),
        Some(vec![("nope", (1, 5))])
    );
}

/// Malformed filters are errors that quote the filter.
#[test]
fn syntax_errors_are_reported() {
    for bad in [
        "genre",
        "genre =",
        "genre IN scifi",
        "(genre = a",
        "a = 1 b = 2",
        "'open",
    ] {
        let err = parse(bad).err();
        assert!(
            err.as_ref().is_some_and(|e| e.message.ends_with(bad)),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(parse("   ").ok(), Some(None));
}

/// Non-filterable attributes are refused with Meilisearch's message and position.
#[test]
fn non_filterable_attribute_is_refused() {
    let patterns: Vec<String> = ["year", "genre", "_miroir_shard"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let err = parse_checked("nope = 1", &patterns)
        .err()
        .map(|e| e.message);
    assert_eq!(
        err.as_deref(),
        Some("Attribute `nope` is not filterable. Available filterable attribute patterns are: `_miroir_shard`, `genre`, `year`.\n1:5 nope = 1")
    );
    assert!(parse_checked("year > 1 AND genre = x", &patterns).is_ok());
}
