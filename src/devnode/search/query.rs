//! Search parameters: parsed from a JSON body (or `GET` query string) with Meilisearch's field
//! names, defaults and error messages.

use serde_json::Value;

use crate::meili::error::{wrong_type, MeiliError};
use crate::meili::search_params::{code, FIELDS};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    Last,
    All,
    Frequency,
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    pub q: String,
    pub offset: usize,
    pub limit: usize,
    pub page: Option<usize>,
    pub hits_per_page: Option<usize>,
    pub attributes_to_retrieve: Option<Vec<String>>,
    pub attributes_to_crop: Option<Vec<String>>,
    pub crop_length: usize,
    pub crop_marker: String,
    pub attributes_to_highlight: Option<Vec<String>>,
    pub highlight_pre_tag: String,
    pub highlight_post_tag: String,
    pub show_matches_position: bool,
    pub filter: Value,
    pub sort: Option<Vec<String>>,
    pub distinct: Option<String>,
    pub facets: Option<Vec<String>>,
    pub strategy: Strategy,
    pub attributes_to_search_on: Option<Vec<String>>,
    pub ranking_score_threshold: Option<f64>,
    pub show_ranking_score: bool,
    pub show_ranking_score_details: bool,
    /// Multi-search only: the index a query targets and its federation weight.
    pub index_uid: Option<String>,
    pub weight: f64,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            q: String::new(),
            offset: 0,
            limit: 20,
            page: None,
            hits_per_page: None,
            attributes_to_retrieve: None,
            attributes_to_crop: None,
            crop_length: 10,
            crop_marker: "…".into(),
            attributes_to_highlight: None,
            highlight_pre_tag: "<em>".into(),
            highlight_post_tag: "</em>".into(),
            show_matches_position: false,
            filter: Value::Null,
            sort: None,
            distinct: None,
            facets: None,
            strategy: Strategy::Last,
            attributes_to_search_on: None,
            ranking_score_threshold: None,
            show_ranking_score: false,
            show_ranking_score_details: false,
            index_uid: None,
            weight: 1.0,
        }
    }
}

/// Parses a search body. `prefix` locates the body in error messages (`.queries[1]` in a multi-search),
/// and `multi` admits the multi-search fields `indexUid` and `federationOptions`.
pub fn parse(body: &Value, prefix: &str, multi: bool) -> Result<SearchQuery, MeiliError> {
    let Value::Object(obj) = body else {
        return Err(wrong_type("bad_request", prefix, "an object", body));
    };
    let mut q = SearchQuery::default();
    for (field, value) in obj {
        let path = format!("{prefix}.{field}");
        let c = code(field);
        let uint = || match value {
            Value::Number(n) if n.is_u64() => Ok(n.as_u64().unwrap_or(0) as usize),
            _ => Err(wrong_type(c, &path, "a positive integer", value)),
        };
        let boolean = || {
            value
                .as_bool()
                .ok_or_else(|| wrong_type(c, &path, "a boolean", value))
        };
        let text = || {
            value
                .as_str()
                .map(String::from)
                .ok_or_else(|| wrong_type(c, &path, "a string", value))
        };
        let list = || -> Result<Option<Vec<String>>, MeiliError> {
            match value {
                Value::Null => Ok(None),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.as_str()
                            .map(String::from)
                            .ok_or_else(|| wrong_type(c, &format!("{path}[{i}]"), "a string", v))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                _ => Err(wrong_type(c, &path, "an array", value)),
            }
        };
        match field.as_str() {
            "q" => q.q = if value.is_null() { String::new() } else { text()? },
            "offset" => q.offset = uint()?,
            "limit" => q.limit = uint()?,
            "page" => q.page = Some(uint()?),
            "hitsPerPage" => q.hits_per_page = Some(uint()?),
            "attributesToRetrieve" => q.attributes_to_retrieve = list()?,
            "attributesToCrop" => q.attributes_to_crop = list()?,
            "cropLength" => q.crop_length = uint()?,
            "cropMarker" => q.crop_marker = text()?,
            "attributesToHighlight" => q.attributes_to_highlight = list()?,
            "highlightPreTag" => q.highlight_pre_tag = text()?,
            "highlightPostTag" => q.highlight_post_tag = text()?,
            "showMatchesPosition" => q.show_matches_position = boolean()?,
            "filter" => q.filter = value.clone(),
            "sort" => q.sort = list()?,
            "distinct" => q.distinct = if value.is_null() { None } else { Some(text()?) },
            "facets" => q.facets = list()?,
            "matchingStrategy" => {
                q.strategy = match value.as_str() {
                    Some("last") => Strategy::Last,
                    Some("all") => Strategy::All,
                    Some("frequency") => Strategy::Frequency,
                    _ => {
                        return Err(MeiliError::invalid(
                            c,
                            format!(
                                "Unknown value `{}` at `{path}`: expected one of `last`, `all`, `frequency`",
                                value.as_str().unwrap_or(&value.to_string())
                            ),
                        ))
                    }
                }
            }
            "attributesToSearchOn" => q.attributes_to_search_on = list()?,
            "rankingScoreThreshold" => match value.as_f64() {
                Some(t) if (0.0..=1.0).contains(&t) => q.ranking_score_threshold = Some(t),
                Some(_) => {
                    return Err(MeiliError::invalid(
                        c,
                        format!("Invalid value at `{path}`: the value of `rankingScoreThreshold` is invalid, expected a float between `0.0` and `1.0`."),
                    ))
                }
                None if value.is_null() => {}
                None => return Err(wrong_type(c, &path, "a number", value)),
            },
            "showRankingScore" => q.show_ranking_score = boolean()?,
            "showRankingScoreDetails" => q.show_ranking_score_details = boolean()?,
            "indexUid" if multi => q.index_uid = Some(text()?),
            "federationOptions" if multi => {
                if let Some(w) = value.get("weight") {
                    q.weight = w.as_f64().filter(|w| *w >= 0.0).ok_or_else(|| {
                        wrong_type("invalid_multi_search_weight", &format!("{path}.weight"), "a positive number", w)
                    })?;
                }
            }
            // Accepted and ignored: vector search, locales and network options have no meaning here.
            f if FIELDS.contains(&f) => {}
            _ => {
                let mut expected: Vec<String> = Vec::new();
                if multi {
                    expected.push("`indexUid`".into());
                }
                expected.extend(FIELDS.iter().map(|f| format!("`{f}`")));
                if multi {
                    expected.push("`federationOptions`".into());
                }
                return Err(MeiliError::bad_request(format!(
                    "{}Unknown field `{field}`: expected one of {}",
                    if prefix.is_empty() { String::new() } else { format!("Inside `{prefix}`: ") },
                    expected.join(", ")
                )));
            }
        }
    }
    Ok(q)
}
