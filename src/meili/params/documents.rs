//! The query parameters of Meilisearch's document writes, read with its rules and errors:
//! additions take `primaryKey`, `csvDelimiter`, `customMetadata` and `skipCreation`; deletions
//! and edits take `customMetadata` alone. Any other parameter is refused.

use crate::meili::params::unknown;
use crate::meili::MeiliError;

/// `POST`/`PUT /indexes/{uid}/documents` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentsWrite {
    pub primary_key: Option<String>,
    /// Only with `text/csv` (checked against the payload's content type).
    pub csv_delimiter: Option<u8>,
    /// Kept on the task and shown wherever the task is.
    pub custom_metadata: Option<String>,
    /// Update documents that exist, skip the others.
    pub skip_creation: bool,
}

const WRITE_PARAMS: &[&str] = &[
    "primaryKey",
    "csvDelimiter",
    "customMetadata",
    "skipCreation",
];

impl DocumentsWrite {
    pub fn parse(params: &[(String, String)]) -> Result<Self, MeiliError> {
        let mut q = DocumentsWrite::default();
        for (k, v) in params {
            match k.as_str() {
                "primaryKey" => q.primary_key = Some(v.clone()),
                "csvDelimiter" => q.csv_delimiter = Some(csv_delimiter(v)?),
                "customMetadata" => q.custom_metadata = Some(v.clone()),
                "skipCreation" => q.skip_creation = skip_creation(v)?,
                other => return Err(unknown(other, WRITE_PARAMS)),
            }
        }
        Ok(q)
    }

    /// The query string a node receives for this write, under the batch's primary key.
    pub fn node_query(&self, primary_key: &str) -> String {
        let pk: String = form_urlencoded::byte_serialize(primary_key.as_bytes()).collect();
        let mut q = format!("primaryKey={pk}");
        if self.skip_creation {
            q.push_str("&skipCreation=true");
        }
        q
    }
}

/// `customMetadata`, the one parameter of deletions and edits.
pub fn custom_metadata_only(params: &[(String, String)]) -> Result<Option<String>, MeiliError> {
    let mut found = None;
    for (k, v) in params {
        match k.as_str() {
            "customMetadata" => found = Some(v.clone()),
            other => return Err(unknown(other, &["customMetadata"])),
        }
    }
    Ok(found)
}

fn csv_delimiter(v: &str) -> Result<u8, MeiliError> {
    let code = "invalid_document_csv_delimiter";
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii() => Ok(c as u8),
        (Some(c), None) => Err(MeiliError::invalid(
            code,
            format!("csv delimiter must be an ascii character. Found: `{c}`"),
        )),
        _ => Err(MeiliError::invalid(
            code,
            format!(
                "Invalid value in parameter `csvDelimiter`: expected a string of one character, but found the following string of {} characters: `{v}`",
                v.chars().count()
            ),
        )),
    }
}

fn skip_creation(v: &str) -> Result<bool, MeiliError> {
    if v.eq_ignore_ascii_case("true") {
        Ok(true)
    } else if v.eq_ignore_ascii_case("false") {
        Ok(false)
    } else {
        Err(MeiliError::invalid(
            "invalid_skip_creation",
            format!("skipCreation must be either `true` or `false`. Found: `{v}`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::meili::params::pairs as q;

    /// Messages recorded from Meilisearch 1.50.
    #[test]
    fn write_parameters_parse_with_meilisearch_errors() {
        let ok = DocumentsWrite::parse(&q(&[
            ("primaryKey", "sku"),
            ("csvDelimiter", ";"),
            ("customMetadata", "import 7"),
            ("skipCreation", "TRUE"),
        ]))
        .unwrap();
        assert_eq!(ok.csv_delimiter, Some(b';'));
        assert!(ok.skip_creation);
        assert_eq!(ok.custom_metadata.as_deref(), Some("import 7"));
        assert_eq!(ok.node_query("sku"), "primaryKey=sku&skipCreation=true");

        let e = DocumentsWrite::parse(&q(&[("bogus", "1")])).unwrap_err();
        assert_eq!((e.code, e.status.as_u16()), ("bad_request", 400));
        assert_eq!(e.message, "Unknown parameter `bogus`: expected one of `primaryKey`, `csvDelimiter`, `customMetadata`, `skipCreation`");
        let e = DocumentsWrite::parse(&q(&[("skipCreation", "")])).unwrap_err();
        assert_eq!(e.code, "invalid_skip_creation");
        assert_eq!(
            e.message,
            "skipCreation must be either `true` or `false`. Found: ``"
        );
        let e = DocumentsWrite::parse(&q(&[("csvDelimiter", "ab")])).unwrap_err();
        assert_eq!(e.message, "Invalid value in parameter `csvDelimiter`: expected a string of one character, but found the following string of 2 characters: `ab`");
        let e = DocumentsWrite::parse(&q(&[("csvDelimiter", "é")])).unwrap_err();
        assert_eq!(
            e.message,
            "csv delimiter must be an ascii character. Found: `é`"
        );

        assert_eq!(
            custom_metadata_only(&q(&[("customMetadata", "")])).unwrap(),
            Some(String::new())
        );
        let e = custom_metadata_only(&q(&[("x", "1")])).unwrap_err();
        assert_eq!(
            e.message,
            "Unknown parameter `x`: expected one of `customMetadata`"
        );
    }
}
