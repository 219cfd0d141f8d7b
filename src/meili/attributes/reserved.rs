//! The attributes Miroir keeps on the nodes' documents for itself. Clients may neither write nor
//! see them, and no client index may use one as its primary key.

use serde_json::{json, Map, Value};

/// Every document carries its shard here; every node makes it filterable at index creation.
pub const SHARD_FIELD: &str = "_miroir_shard";

/// Every document a router writes carries its version here (DESIGN section
/// 6); filterable and sortable on every node from index creation.
pub const VERSION_FIELD: &str = "_miroir_version";

/// Marks the names of Miroir's later generations of an index on the nodes
/// (`movies__miroir_g2`); no client index uid may contain it.
pub const GENERATION_MARK: &str = "__miroir_g";

/// Whether a client may not use this index uid (it could collide with a
/// generation Miroir makes on the nodes).
pub fn is_reserved_index_uid(uid: &str) -> bool {
    uid.contains("__miroir")
}

/// The name on the nodes of generation `generation` of index `uid`: the uid
/// itself for the first, the uid with [`GENERATION_MARK`] and the number for
/// later ones (an index deleted and created again).
pub fn physical_index_name(uid: &str, generation: u32) -> String {
    match generation {
        0 | 1 => uid.to_string(),
        g => format!("{uid}{GENERATION_MARK}{g}"),
    }
}

/// Prefix of every attribute Miroir reserves.
pub const RESERVED_PREFIX: &str = "_miroir";

/// Whether an attribute name is Miroir's.
pub fn is_reserved(attribute: &str) -> bool {
    attribute.starts_with(RESERVED_PREFIX)
}

/// The settings lists that hold Miroir's attributes: (JSON key, route name,
/// the attributes every node keeps in it whatever the client sets).
const KEPT: &[(&str, &str, &[&str])] = &[
    (
        "filterableAttributes",
        "filterable-attributes",
        &[SHARD_FIELD, VERSION_FIELD],
    ),
    (
        "sortableAttributes",
        "sortable-attributes",
        &[VERSION_FIELD],
    ),
];

fn kept_by_route(route_name: &str) -> Option<(&'static str, &'static [&'static str])> {
    KEPT.iter()
        .find(|(_, r, _)| *r == route_name)
        .map(|(k, _, f)| (*k, *f))
}

/// The settings every node index gets at creation, so shard filters and
/// version comparisons work from its first document (changing them later
/// would re-index a whole node).
pub fn node_index_settings() -> Value {
    let mut out = Map::new();
    for (key, _, fields) in KEPT {
        out.insert(key.to_string(), json!(fields));
    }
    Value::Object(out)
}

fn hide(list: &mut Value, fields: &[&str], except: &Value) {
    if let Some(items) = list.as_array_mut() {
        let listed = |f: &&str| except.as_array().is_some_and(|l| l.iter().any(|v| v == *f));
        items.retain(|v| !fields.iter().any(|f| v == *f && !listed(f)));
    }
}

fn keep(list: &mut Value, fields: &[&str]) {
    match list {
        Value::Array(items) => {
            for f in fields {
                if !items.iter().any(|v| v == *f) {
                    items.push(Value::from(*f));
                }
            }
        }
        Value::Null => *list = json!(fields),
        _ => {}
    }
}

/// Takes Miroir's attributes out of a whole-settings object shown to a
/// client, except those `client_sent` (the client's own settings body) named.
pub fn hide_in_settings(settings: &mut Value, client_sent: &Value) {
    for (key, _, fields) in KEPT {
        if let Some(list) = settings.get_mut(*key) {
            hide(list, fields, &client_sent[*key]);
        }
    }
}

/// Takes Miroir's attributes out of one setting (`route_name` as in
/// `/settings/{name}`) shown to a client.
pub fn hide_in_setting(route_name: &str, value: &mut Value) {
    if let Some((_, fields)) = kept_by_route(route_name) {
        hide(value, fields, &Value::Null);
    }
}

/// Puts Miroir's attributes back into a whole-settings body a client sends.
pub fn keep_in_settings(body: &mut Value) {
    for (key, _, fields) in KEPT {
        if let Some(list) = body.get_mut(*key) {
            keep(list, fields);
        }
    }
}

/// Puts Miroir's attributes back into one setting a client sends.
pub fn keep_in_setting(route_name: &str, value: &mut Value) {
    if let Some((_, fields)) = kept_by_route(route_name) {
        keep(value, fields);
    }
}

/// What to apply after a client resets settings (`None`: all of them) so
/// the nodes keep Miroir's attributes.
pub fn restore_after_reset(route_name: Option<&str>) -> Option<Value> {
    match route_name {
        None => Some(node_index_settings()),
        Some(r) => kept_by_route(r).map(|(key, fields)| json!({ key: fields })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn physical_names_by_generation() {
        assert_eq!(physical_index_name("movies", 1), "movies");
        assert_eq!(physical_index_name("movies", 3), "movies__miroir_g3");
        assert!(is_reserved_index_uid(&physical_index_name("movies", 3)));
        assert!(!is_reserved_index_uid("movies_miroir"));
    }

    #[test]
    fn settings_keep_and_hide_miroirs_attributes() {
        let mut body = json!({"filterableAttributes": ["genre"], "sortableAttributes": null});
        keep_in_settings(&mut body);
        assert_eq!(
            body,
            json!({"filterableAttributes": ["genre", SHARD_FIELD, VERSION_FIELD],
                   "sortableAttributes": [VERSION_FIELD]})
        );
        hide_in_settings(&mut body, &json!({"sortableAttributes": [VERSION_FIELD]}));
        assert_eq!(
            body,
            json!({"filterableAttributes": ["genre"], "sortableAttributes": [VERSION_FIELD]})
        );
        let mut one = json!(["a", VERSION_FIELD]);
        hide_in_setting("sortable-attributes", &mut one);
        assert_eq!(one, json!(["a"]));
        assert_eq!(restore_after_reset(Some("ranking-rules")), None);
        assert_eq!(
            restore_after_reset(Some("sortable-attributes")),
            Some(json!({"sortableAttributes": [VERSION_FIELD]}))
        );
    }

    #[test]
    fn reserved_names() {
        assert!(is_reserved(SHARD_FIELD) && is_reserved("_miroir_version"));
        assert!(!is_reserved("_rankingScore") && !is_reserved("miroir"));
    }
}
