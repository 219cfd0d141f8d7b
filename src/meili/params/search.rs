//! Search parameters as Meilisearch names them: every field a search body may hold, the error
//! code of each, and `GET /search`'s query string read as the body it stands for. The router
//! (which passes searches on) and the devnode (which answers them) both use these.

use serde_json::{Map, Value};

use crate::meili::error::MeiliError;

/// Every field a search body may hold, in the order Meilisearch lists them when one is unknown.
pub const FIELDS: [&str; 30] = [
    "q",
    "offset",
    "limit",
    "page",
    "hitsPerPage",
    "attributesToRetrieve",
    "attributesToCrop",
    "cropLength",
    "cropMarker",
    "attributesToHighlight",
    "highlightPreTag",
    "highlightPostTag",
    "showMatchesPosition",
    "filter",
    "sort",
    "distinct",
    "facets",
    "matchingStrategy",
    "attributesToSearchOn",
    "rankingScoreThreshold",
    "locales",
    "hybrid",
    "vector",
    "retrieveVectors",
    "media",
    "personalize",
    "useNetwork",
    "showRankingScore",
    "showRankingScoreDetails",
    "showPerformanceDetails",
];

/// The error code Meilisearch gives an invalid value of `field`.
pub fn code(field: &str) -> &'static str {
    match field {
        "q" => "invalid_search_q",
        "offset" => "invalid_search_offset",
        "limit" => "invalid_search_limit",
        "page" => "invalid_search_page",
        "hitsPerPage" => "invalid_search_hits_per_page",
        "attributesToRetrieve" => "invalid_search_attributes_to_retrieve",
        "attributesToCrop" => "invalid_search_attributes_to_crop",
        "cropLength" => "invalid_search_crop_length",
        "cropMarker" => "invalid_search_crop_marker",
        "attributesToHighlight" => "invalid_search_attributes_to_highlight",
        "highlightPreTag" => "invalid_search_highlight_pre_tag",
        "highlightPostTag" => "invalid_search_highlight_post_tag",
        "showMatchesPosition" => "invalid_search_show_matches_position",
        "sort" => "invalid_search_sort",
        "distinct" => "invalid_search_distinct",
        "facets" => "invalid_search_facets",
        "matchingStrategy" => "invalid_search_matching_strategy",
        "attributesToSearchOn" => "invalid_search_attributes_to_search_on",
        "rankingScoreThreshold" => "invalid_search_ranking_score_threshold",
        "showRankingScore" => "invalid_search_show_ranking_score",
        "showRankingScoreDetails" => "invalid_search_show_ranking_score_details",
        "indexUid" => "invalid_index_uid",
        "federationOptions" => "invalid_multi_search_federation_options",
        _ => "bad_request",
    }
}

/// Turns `GET /search` query parameters into the equivalent JSON body.
pub fn from_params(params: &[(String, String)]) -> Result<Value, MeiliError> {
    let mut obj = Map::new();
    for (k, v) in params {
        let value = match k.as_str() {
            "offset" | "limit" | "page" | "hitsPerPage" | "cropLength" => {
                Value::from(crate::meili::params::positive_integer(k, code(k), v)?)
            }
            "showMatchesPosition" | "showRankingScore" | "showRankingScoreDetails" => match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => {
                    return Err(MeiliError::invalid(
                        code(k),
                        format!("Invalid value in parameter `{k}`: could not parse `{v}` as a boolean, expected either `true` or `false`"),
                    ))
                }
            },
            "rankingScoreThreshold" => v.parse::<f64>().map(Value::from).unwrap_or(Value::String(v.clone())),
            "attributesToRetrieve" | "attributesToCrop" | "attributesToHighlight" | "sort" | "facets"
            | "attributesToSearchOn" => Value::Array(
                v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.into())).collect(),
            ),
            f if FIELDS.contains(&f) => Value::String(v.clone()),
            _ => return Err(crate::meili::params::unknown(k, &FIELDS)),
        };
        obj.insert(k.clone(), value);
    }
    Ok(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// GET parameters become the typed body a POST would carry, including the ones the router
    /// used to drop or pass on as strings; an unknown one is refused.
    #[test]
    fn get_parameters_become_a_body() {
        let params: Vec<(String, String)> = [
            ("q", "star"),
            ("limit", "2"),
            ("sort", "year:asc,title:desc"),
            ("showRankingScore", "true"),
            ("filter", "genre = scifi"),
            ("attributesToSearchOn", "title,overview"),
            ("rankingScoreThreshold", "0.5"),
            ("showRankingScoreDetails", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = from_params(&params).unwrap();
        assert_eq!(
            body,
            json!({"q": "star", "limit": 2, "sort": ["year:asc", "title:desc"], "showRankingScore": true,
                "filter": "genre = scifi", "attributesToSearchOn": ["title", "overview"],
                "rankingScoreThreshold": 0.5, "showRankingScoreDetails": true})
        );
        let unknown = vec![("colour".to_string(), "red".to_string())];
        let err = from_params(&unknown).unwrap_err();
        assert_eq!(err.code, "bad_request");
    }
}
