//! Miroir's attributes left out of the lists of available attributes that
//! Meilisearch's error messages give ("Available sortable attributes are:
//! ..."): the nodes list `_miroir_shard` and `_miroir_version`, which the
//! client never set, and an index whose client set none reads as one that
//! has none, in Meilisearch's words.

use super::reserved::is_reserved;

/// `message` with Miroir's attributes taken out of its list of available ones.
pub fn hide_in_message(message: &str) -> String {
    const AVAILABLE: &str = "Available ";
    let Some(start) = message.find(AVAILABLE) else {
        return message.to_string();
    };
    let rest = &message[start..];
    let Some(are) = rest.find(" are: `") else {
        return message.to_string();
    };
    let what = &rest[AVAILABLE.len()..are];
    let list_start = start + are + " are: ".len();
    let Some(end) = message[list_start..].find("`.") else {
        return message.to_string();
    };
    let list_end = list_start + end + 1;
    let list = &message[list_start..list_end];
    // Two spellings: "`a`, `b`" (filters) and "`a, b`" (the others).
    let quoted_each = list.contains("`, `");
    let separator = if quoted_each { "`, `" } else { ", " };
    let names: Vec<&str> = list.trim_matches('`').split(separator).collect();
    let kept: Vec<&str> = names.iter().copied().filter(|n| !is_reserved(n)).collect();
    if kept.len() == names.len() {
        return message.to_string();
    }
    let replacement = match (kept.is_empty(), quoted_each) {
        (true, _) => {
            let kind = what.split(' ').next().unwrap_or("filterable");
            format!("This index does not have configured {kind} attributes")
        }
        (false, true) => {
            let each: Vec<String> = kept.iter().map(|n| format!("`{n}`")).collect();
            format!("{AVAILABLE}{what} are: {}", each.join(", "))
        }
        (false, false) => format!("{AVAILABLE}{what} are: `{}`", kept.join(", ")),
    };
    format!("{}{replacement}{}", &message[..start], &message[list_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message as a real Meilisearch 1.50 node words it for an index
    /// with Miroir's attributes, and as it would for the client's settings.
    #[test]
    fn miroir_attributes_are_left_out() {
        let cases = [
            (
                "Index `e`: Attribute `foo` is not filterable. Available filterable attribute patterns are: `_miroir_shard`, `_miroir_version`, `color`.\n2:5 \"foo\" = \"1\"",
                "Index `e`: Attribute `foo` is not filterable. Available filterable attribute patterns are: `color`.\n2:5 \"foo\" = \"1\"",
            ),
            (
                "Index `e`: Attribute `foo` is not filterable. Available filterable attribute patterns are: `_miroir_shard`, `_miroir_version`.\n2:5 \"foo\" = \"1\"",
                "Index `e`: Attribute `foo` is not filterable. This index does not have configured filterable attributes.\n2:5 \"foo\" = \"1\"",
            ),
            (
                "Index `e`: Attribute `foo` is not sortable. Available sortable attributes are: `_miroir_version, n`.",
                "Index `e`: Attribute `foo` is not sortable. Available sortable attributes are: `n`.",
            ),
            (
                "Index `e`: Attribute `foo` is not sortable. Available sortable attributes are: `_miroir_version`.",
                "Index `e`: Attribute `foo` is not sortable. This index does not have configured sortable attributes.",
            ),
            (
                "Attribute `foo` is not facet-searchable. Available facet-searchable attributes patterns are: `_miroir_shard, _miroir_version`. To make it facet-searchable add it to the `filterableAttributes` index settings.",
                "Attribute `foo` is not facet-searchable. This index does not have configured facet-searchable attributes. To make it facet-searchable add it to the `filterableAttributes` index settings.",
            ),
            (
                "Index `e`: Attribute `foo` is not filterable and thus, cannot be used as distinct attribute. Available filterable attributes patterns are: `_miroir_shard, _miroir_version, color`.",
                "Index `e`: Attribute `foo` is not filterable and thus, cannot be used as distinct attribute. Available filterable attributes patterns are: `color`.",
            ),
            (
                "Invalid facet distribution: Pattern `foo` is not filterable. Available filterable attributes patterns are: `_miroir_shard, _miroir_version`.",
                "Invalid facet distribution: Pattern `foo` is not filterable. This index does not have configured filterable attributes.",
            ),
        ];
        for (node, client) in cases {
            assert_eq!(hide_in_message(node), client);
        }
        let plain = "Index `e` not found.";
        assert_eq!(hide_in_message(plain), plain);
        let clients_only = "Available sortable attributes are: `n`.";
        assert_eq!(hide_in_message(clients_only), clients_only);
    }
}
