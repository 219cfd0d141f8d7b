use crate::pb::v1;
use crate::state::settings::SettingView;

impl From<SettingView> for v1::ConfigEntry {
    fn from(s: SettingView) -> Self {
        v1::ConfigEntry {
            key: s.key,
            value: s.value,
            version: s.version,
            description: s.description,
        }
    }
}

impl From<v1::ConfigEntry> for SettingView {
    fn from(e: v1::ConfigEntry) -> Self {
        SettingView {
            key: e.key,
            value: e.value,
            version: e.version,
            description: e.description,
        }
    }
}
