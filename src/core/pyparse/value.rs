//! Python literal values, for entries of `dependencies`, `replaces` and
//! `run_before` that are not `(app_label, name)` pairs of strings.
//!
//! Django does not check these entries: it indexes them (`key[0]`,
//! `key[1]`), compares them with strings and uses them as dict keys. What
//! happens then — a graph node that can never exist, an `IndexError`, a
//! `TypeError` — follows from Python's rules for the value, which this
//! module reproduces for the literal forms a migration file can hold.

use serde::{Deserialize, Serialize};

/// A literal value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PyValue {
    Str(String),
    Bytes(Vec<u8>),
    /// Decimal digits (or, past `u64`, the literal as written).
    Int(String),
    /// The literal as written.
    Float(String),
    Complex(String),
    Bool(bool),
    None,
    Ellipsis,
    Tuple(Vec<PyValue>),
    List(Vec<PyValue>),
    Set(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
}

/// An exception Python raises: its type and message, as Python prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PyError {
    pub exception: &'static str,
    pub message: String,
}

impl std::fmt::Display for PyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.exception, self.message)
    }
}

fn type_error(message: String) -> PyError {
    PyError {
        exception: "TypeError",
        message,
    }
}

impl PyValue {
    /// `type(value).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::Str(_) => "str",
            PyValue::Bytes(_) => "bytes",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Complex(_) => "complex",
            PyValue::Bool(_) => "bool",
            PyValue::None => "NoneType",
            PyValue::Ellipsis => "ellipsis",
            PyValue::Tuple(_) => "tuple",
            PyValue::List(_) => "list",
            PyValue::Set(_) => "set",
            PyValue::Dict(_) => "dict",
        }
    }

    /// `value[index]` for a small non-negative index.
    pub fn get(&self, index: usize) -> Result<PyValue, PyError> {
        let out_of_range = |what: &str| PyError {
            exception: "IndexError",
            message: format!("{what} index out of range"),
        };
        match self {
            PyValue::Str(s) => s
                .chars()
                .nth(index)
                .map(|c| PyValue::Str(c.to_string()))
                .ok_or_else(|| out_of_range("string")),
            PyValue::Bytes(b) => b
                .get(index)
                .map(|b| PyValue::Int(b.to_string()))
                .ok_or_else(|| out_of_range("index")),
            PyValue::Tuple(v) => v.get(index).cloned().ok_or_else(|| out_of_range("tuple")),
            PyValue::List(v) => v.get(index).cloned().ok_or_else(|| out_of_range("list")),
            PyValue::Dict(items) => {
                let key = PyValue::Int(index.to_string());
                // The last of equal keys is the one a dict keeps.
                items
                    .iter()
                    .rev()
                    .find(|(k, _)| k.py_eq(&key))
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| PyError {
                        exception: "KeyError",
                        message: index.to_string(),
                    })
            }
            other => Err(type_error(format!(
                "'{}' object is not subscriptable",
                other.type_name()
            ))),
        }
    }

    /// The items `iter(value)` yields, or the TypeError it raises.
    pub fn iter(self) -> Result<Vec<PyValue>, PyError> {
        match self {
            PyValue::Str(s) => Ok(s.chars().map(|c| PyValue::Str(c.to_string())).collect()),
            PyValue::Bytes(b) => Ok(b.iter().map(|b| PyValue::Int(b.to_string())).collect()),
            PyValue::Tuple(v) | PyValue::List(v) | PyValue::Set(v) => Ok(v),
            PyValue::Dict(items) => Ok(items.into_iter().map(|(k, _)| k).collect()),
            other => Err(type_error(format!(
                "'{}' object is not iterable",
                other.type_name()
            ))),
        }
    }

    /// `hash(value)` succeeds.
    pub fn check_hashable(&self) -> Result<(), PyError> {
        match self {
            PyValue::List(_) | PyValue::Set(_) | PyValue::Dict(_) => Err(type_error(format!(
                "unhashable type: '{}'",
                self.type_name()
            ))),
            PyValue::Tuple(items) => items.iter().try_for_each(PyValue::check_hashable),
            _ => Ok(()),
        }
    }

    /// `value == "s"`.
    pub fn eq_str(&self, s: &str) -> bool {
        matches!(self, PyValue::Str(v) if v == s)
    }

    /// A number's value as `f64`, for `==` across int, float and bool.
    fn number(&self) -> Option<f64> {
        match self {
            PyValue::Int(s) | PyValue::Float(s) => s.replace('_', "").parse().ok(),
            PyValue::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// Python's `==` (for the values Django compares: keys of its graph).
    pub fn py_eq(&self, other: &PyValue) -> bool {
        use PyValue::*;
        match (self, other) {
            (Tuple(a), Tuple(b)) | (List(a), List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
            }
            (Int(a), Int(b)) => a == b,
            (Int(_) | Float(_) | Bool(_), Int(_) | Float(_) | Bool(_)) => {
                matches!((self.number(), other.number()), (Some(a), Some(b)) if a == b)
            }
            _ => self == other,
        }
    }

    /// A canonical text for the value: equal (`==`) values that can be
    /// graph keys give equal texts.
    pub fn identity(&self) -> String {
        match self {
            PyValue::Bool(b) => u8::from(*b).to_string(),
            PyValue::Float(_) => match self.number() {
                Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
                Some(n) => format!("{n:?}"),
                None => self.repr(),
            },
            PyValue::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(PyValue::identity).collect();
                format!("({})", inner.join(", "))
            }
            _ => self.repr(),
        }
    }

    /// `repr(value)`, as Django's messages show it.
    pub fn repr(&self) -> String {
        fn seq(open: &str, items: &[PyValue], close: &str, one: bool) -> String {
            let inner: Vec<String> = items.iter().map(PyValue::repr).collect();
            let comma = if one && items.len() == 1 { "," } else { "" };
            format!("{open}{}{comma}{close}", inner.join(", "))
        }
        match self {
            PyValue::Str(s) => str_repr(s),
            PyValue::Bytes(b) => bytes_repr(b),
            PyValue::Int(s) | PyValue::Float(s) | PyValue::Complex(s) => s.clone(),
            PyValue::Bool(true) => "True".to_owned(),
            PyValue::Bool(false) => "False".to_owned(),
            PyValue::None => "None".to_owned(),
            PyValue::Ellipsis => "Ellipsis".to_owned(),
            PyValue::Tuple(v) => seq("(", v, ")", true),
            PyValue::List(v) => seq("[", v, "]", false),
            PyValue::Set(v) if v.is_empty() => "set()".to_owned(),
            PyValue::Set(v) => seq("{", v, "}", false),
            PyValue::Dict(items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.repr(), v.repr()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Python's `repr` of a string: single quotes unless the text holds one and
/// no double quote.
fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(quote as char);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c as char);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote as char);
    out
}

#[cfg(test)]
mod tests {
    use super::PyValue::{self, *};

    fn s(v: &str) -> PyValue {
        Str(v.to_owned())
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(Tuple(vec![s("blog"), None]).repr(), "('blog', None)");
        assert_eq!(Tuple(vec![s("blog")]).repr(), "('blog',)");
        assert_eq!(s("it's").repr(), "\"it's\"");
        assert_eq!(s("a'\"\n").repr(), "'a\\'\"\\n'");
        assert_eq!(Bytes(b"blog\xff".to_vec()).repr(), "b'blog\\xff'");
        assert_eq!(List(vec![Int("1".into()), Bool(true)]).repr(), "[1, True]");
        assert_eq!(Set(vec![]).repr(), "set()");
    }

    #[test]
    fn indexing_like_python() {
        let e = |v: &PyValue, i| v.get(i).unwrap_err().to_string();
        assert_eq!(s("bx").get(1), Ok(s("x")));
        assert_eq!(e(&s("b"), 1), "IndexError: string index out of range");
        assert_eq!(
            e(&Tuple(vec![s("a")]), 1),
            "IndexError: tuple index out of range"
        );
        assert_eq!(
            e(&None, 0),
            "TypeError: 'NoneType' object is not subscriptable"
        );
        assert_eq!(e(&Dict(vec![(s("a"), s("b"))]), 0), "KeyError: 0");
        assert_eq!(Dict(vec![(Bool(false), s("x"))]).get(0), Ok(s("x")));
        assert_eq!(Bytes(b"ab".to_vec()).get(0), Ok(Int("97".into())));
    }

    #[test]
    fn hashing_and_equality_like_python() {
        assert!(Tuple(vec![s("a"), Tuple(vec![])]).check_hashable().is_ok());
        assert_eq!(
            Tuple(vec![s("a"), List(vec![])])
                .check_hashable()
                .unwrap_err()
                .to_string(),
            "TypeError: unhashable type: 'list'"
        );
        assert!(Tuple(vec![Int("1".into())]).py_eq(&Tuple(vec![Bool(true)])));
        assert!(Float("1.0".into()).py_eq(&Int("1".into())));
        assert!(!s("1").py_eq(&Int("1".into())));
        assert!(!List(vec![s("a")]).py_eq(&Tuple(vec![s("a")])));
        assert_eq!(
            Tuple(vec![Bool(true), Float("2.0".into())]).identity(),
            Tuple(vec![Int("1".into()), Int("2".into())]).identity()
        );
    }
}
