//! The query parameters of `GET /stats` and `GET /indexes/{uid}/stats`, read with Meilisearch's
//! rules and errors, and sizes shown as it shows them.

use serde_json::Value;

use crate::meili::params::unknown;
use crate::meili::MeiliError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsParams {
    /// `showInternalDatabaseSizes`: each internal database's size too.
    pub internal_sizes: bool,
    /// `sizeFormat=human`: sizes as `"1.19 MiB"` rather than a number of bytes.
    pub human: bool,
}

impl StatsParams {
    pub fn parse(params: &[(String, String)]) -> Result<Self, MeiliError> {
        let mut p = StatsParams::default();
        for (k, v) in params {
            match k.as_str() {
                "showInternalDatabaseSizes" => {
                    p.internal_sizes = v.parse().map_err(|_| {
                        MeiliError::invalid(
                            "invalid_stats_show_internal_database_sizes",
                            format!("Invalid value in parameter `showInternalDatabaseSizes`: could not parse `{v}` as a boolean, expected either `true` or `false`"),
                        )
                    })?
                }
                "sizeFormat" => {
                    p.human = match v.as_str() {
                        "human" => true,
                        "raw" => false,
                        other => {
                            let hint = ["human", "raw"]
                                .into_iter()
                                .find(|w| w.eq_ignore_ascii_case(other))
                                .map(|w| format!("did you mean `{w}`? "))
                                .unwrap_or_default();
                            return Err(MeiliError::invalid(
                                "invalid_stats_size_format",
                                format!("Unknown value `{other}` for parameter `sizeFormat`: {hint}expected one of `human`, `raw`"),
                            ));
                        }
                    }
                }
                other => return Err(unknown(other, &["showInternalDatabaseSizes", "sizeFormat"])),
            }
        }
        Ok(p)
    }

    /// A size as the client asked for it.
    pub fn size(&self, bytes: u64) -> Value {
        match self.human {
            true => {
                let size = byte_unit::Byte::from_u64(bytes)
                    .get_appropriate_unit(byte_unit::UnitType::Binary);
                Value::String(format!("{size:#.2}"))
            }
            false => Value::from(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::meili::params::pairs as q;

    /// Messages and sizes recorded from Meilisearch 1.50.
    #[test]
    fn parameters_and_sizes_as_meilisearch_gives_them() {
        let p = StatsParams::parse(&q(&[("sizeFormat", "human")])).unwrap();
        let shown: Vec<Value> = [1_265_664, 892_928, 24_576, 784, 4_085]
            .into_iter()
            .map(|b| p.size(b))
            .collect();
        assert_eq!(
            shown,
            ["1.21 MiB", "872 KiB", "24 KiB", "784 B", "3.99 KiB"]
        );
        assert_eq!(StatsParams::default().size(784), 784);
        let e = StatsParams::parse(&q(&[("sizeFormat", "Human")])).unwrap_err();
        assert_eq!(e.message, "Unknown value `Human` for parameter `sizeFormat`: did you mean `human`? expected one of `human`, `raw`");
        let e = StatsParams::parse(&q(&[("sizeFormat", "big")])).unwrap_err();
        assert_eq!(
            e.message,
            "Unknown value `big` for parameter `sizeFormat`: expected one of `human`, `raw`"
        );
        let e = StatsParams::parse(&q(&[("showInternalDatabaseSizes", "yes")])).unwrap_err();
        assert_eq!(e.code, "invalid_stats_show_internal_database_sizes");
        let e = StatsParams::parse(&q(&[("x", "1")])).unwrap_err();
        assert_eq!(
            e.message,
            "Unknown parameter `x`: expected one of `showInternalDatabaseSizes`, `sizeFormat`"
        );
    }
}
