//! A client's search request as the router needs it: the paging and sorting
//! it must apply globally (validated with Meilisearch's own messages), and the
//! request each node receives instead.

use serde_json::{Map, Value};

use crate::fleet::with_shards;
use crate::meili::error::wrong_type;
use crate::router::read::merge::{Paging, SortRule};
use crate::state::ShardId;

const DEFAULT_LIMIT: usize = 20;

/// A parameter the router must understand was malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    /// Meilisearch's error code, e.g. `invalid_search_limit`.
    pub code: &'static str,
    pub message: String,
}

/// Meilisearch's "Invalid value type" error for `field`.
fn wrong(code: &'static str, field: &str, expected: &str, found: &Value) -> ParamError {
    let message = wrong_type(code, &format!(".{field}"), expected, found).message;
    ParamError { code, message }
}

fn count(
    body: &Map<String, Value>,
    field: &str,
    code: &'static str,
) -> Result<Option<usize>, ParamError> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64().map(|v| v as usize)),
        Some(other) => Err(wrong(code, field, "a positive integer", other)),
    }
}

/// Reads the paging, sorting and score display of a search body.
pub fn paging(body: &Map<String, Value>) -> Result<Paging, ParamError> {
    let offset = count(body, "offset", "invalid_search_offset")?;
    let limit = count(body, "limit", "invalid_search_limit")?;
    let page = count(body, "page", "invalid_search_page")?;
    let per_page = count(body, "hitsPerPage", "invalid_search_hits_per_page")?;
    let sort = match body.get("sort") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(rules)) => rules
            .iter()
            .filter_map(Value::as_str)
            .filter_map(SortRule::parse)
            .collect(),
        Some(other) => return Err(wrong("invalid_search_sort", "sort", "an array", other)),
    };
    let show_ranking_score = match body.get("showRankingScore") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(wrong(
                "invalid_search_show_ranking_score",
                "showRankingScore",
                "a boolean",
                other,
            ))
        }
    };
    // Meilisearch switches to exhaustive page mode when either page parameter is given.
    let pages = (page.is_some() || per_page.is_some())
        .then(|| (page.unwrap_or(1), per_page.unwrap_or(DEFAULT_LIMIT)));
    Ok(Paging {
        pages,
        offset: offset.unwrap_or(0),
        limit: limit.unwrap_or(DEFAULT_LIMIT),
        sort,
        show_ranking_score,
        tie_key: None,
        // A malformed one is the nodes' to refuse.
        distinct: body
            .get("distinct")
            .and_then(Value::as_str)
            .map(String::from),
    })
}

/// The body one node receives: the client's own, restricted to `shards`, asked
/// for the whole window from the top, with ranking scores (to merge by) and
/// the sort fields (to merge by) retrieved.
pub fn node_body(client: &Map<String, Value>, shards: &[ShardId], paging: &Paging) -> Value {
    let mut body = client.clone();
    body.insert("filter".into(), with_shards(client.get("filter"), shards));
    body.insert("showRankingScore".into(), Value::Bool(true));
    let window = paging.per_node_window();
    if paging.pages.is_some() {
        body.insert("page".into(), Value::from(1));
        body.insert("hitsPerPage".into(), Value::from(window));
    } else {
        body.insert("offset".into(), Value::from(0));
        body.insert("limit".into(), Value::from(window));
    }
    if let Some(Value::Array(attrs)) = body.get_mut("attributesToRetrieve") {
        let merged_by = paging
            .sort
            .iter()
            .map(|r| &r.field)
            .chain(&paging.tie_key)
            .chain(&paging.distinct);
        for name in merged_by {
            let f = Value::from(name.clone());
            if !attrs.contains(&f) && !attrs.contains(&Value::from("*")) {
                attrs.push(f);
            }
        }
    }
    Value::Object(body)
}

/// Drops the fields a node returned only because the router asked for them.
pub fn trim_hit(hit: &mut Value, client: &Map<String, Value>) {
    let Some(Value::Array(wanted)) = client.get("attributesToRetrieve") else {
        return;
    };
    if wanted.iter().any(|w| w == "*") {
        return;
    }
    let keep = |k: &String| wanted.iter().any(|w| w == k);
    if let Some(obj) = hit.as_object_mut() {
        obj.retain(|k, _| k.starts_with('_') || keep(k));
        if let Some(Value::Object(f)) = obj.get_mut("_formatted") {
            f.retain(|k, _| keep(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    /// Bad paging values are refused with Meilisearch's code and message.
    #[test]
    fn refuses_bad_paging() {
        let e = paging(&obj(json!({"limit": -1}))).unwrap_err();
        assert_eq!(e.code, "invalid_search_limit");
        assert_eq!(
            e.message,
            "Invalid value type at `.limit`: expected a positive integer, but found a negative integer: `-1`"
        );
        assert_eq!(
            paging(&obj(json!({"offset": "2"}))).unwrap_err().code,
            "invalid_search_offset"
        );
        assert_eq!(
            paging(&obj(json!({"showRankingScore": 1})))
                .unwrap_err()
                .code,
            "invalid_search_show_ranking_score"
        );
    }

    #[test]
    fn reads_paging_modes() {
        let p = paging(&obj(
            json!({"offset": 5, "limit": 10, "sort": ["year:desc"]}),
        ))
        .unwrap();
        assert_eq!((p.offset, p.limit, p.pages), (5, 10, None));
        assert_eq!(p.sort.len(), 1);
        assert_eq!(
            paging(&obj(json!({"page": 3}))).unwrap().pages,
            Some((3, 20))
        );
        assert_eq!(paging(&obj(json!({}))).unwrap().limit, 20);
    }

    /// Each node is asked for the whole window from the top, restricted to its
    /// shards, with scores and the sort fields.
    #[test]
    fn node_body_widens_the_window() {
        let client = obj(
            json!({"q": "star", "offset": 10, "limit": 5, "filter": "genre = scifi",
            "sort": ["year:asc"], "attributesToRetrieve": ["title"]}),
        );
        let p = paging(&client).unwrap();
        let b = node_body(&client, &[ShardId(3)], &p);
        assert_eq!(b["offset"], 0);
        assert_eq!(b["limit"], 15);
        assert_eq!(b["showRankingScore"], true);
        assert_eq!(
            b["filter"],
            json!(["_miroir_shard IN [3]", "genre = scifi"])
        );
        assert_eq!(b["attributesToRetrieve"], json!(["title", "year"]));
        let mut hit = json!({"title": "x", "year": 1, "_rankingScore": 0.5});
        trim_hit(&mut hit, &client);
        assert_eq!(hit, json!({"title": "x", "_rankingScore": 0.5}));
        let pages = obj(json!({"page": 2, "hitsPerPage": 4}));
        let b = node_body(&pages, &[ShardId(0)], &paging(&pages).unwrap());
        assert_eq!(
            (b["page"].clone(), b["hitsPerPage"].clone()),
            (json!(1), json!(8))
        );
    }
}
