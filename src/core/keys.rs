//! Identifiers: app labels and migration keys.

use std::fmt;

/// Python's `str.isidentifier()`, which Django requires of an app label
/// ("The app label '…' is not a valid Python identifier.").
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || unicode_ident::is_xid_start(c))
        && chars.all(unicode_ident::is_xid_continue)
}

/// An app label as the configuration gives one: a Python identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AppLabel(String);

impl AppLabel {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for AppLabel {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for AppLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for AppLabel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Option::<String>::deserialize(d)? {
            None => Err(D::Error::custom(
                "null is not an app label; give the app's label, a Python identifier",
            )),
            Some(s) if !is_identifier(&s) => Err(D::Error::custom(format!(
                "{s:?} is not an app label: Django requires a Python identifier \
                 (letters, digits and _, not starting with a digit)"
            ))),
            Some(s) => Ok(AppLabel(s)),
        }
    }
}

/// A migration node: `(app_label, migration_name)`, as Django keys its graph.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct MigrationKey {
    pub app: String,
    pub name: String,
}

impl MigrationKey {
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> Self {
        MigrationKey {
            app: app.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for MigrationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.app, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::is_identifier;

    #[test]
    fn labels_are_python_identifiers() {
        for ok in ["blog", "_x", "café", "shop2", "null", "class"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "my blog", "my-app", "2shop", "a.b", "a/b", " x"] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }
}
