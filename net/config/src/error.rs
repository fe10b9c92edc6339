//! What can be wrong with a command line: one value, printed as one line.

use alloc::string::String;
use core::fmt;
use gitns_dns::key_text::KeyTextError;

/// A command-line error: which option and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    MissingValue(&'static str),
    BadValue {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
    /// A form this build cannot honour, and what to use instead.
    Unsupported {
        option: &'static str,
        why: &'static str,
    },
    /// Options that only work together.
    Needs(&'static str, &'static str),
    /// Options that contradict each other, and why.
    Excludes {
        a: &'static str,
        b: &'static str,
        why: &'static str,
    },
    /// A TSIG key of `--keys` (its secret is never printed).
    Key(KeyTextError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(o) => write!(f, "unknown option `{o}` (see --help)"),
            ConfigError::MissingValue(o) => write!(f, "option `{o}` needs a value"),
            ConfigError::BadValue {
                option,
                value,
                expected,
            } => {
                write!(f, "option `{option}`: `{value}` is not {expected}")
            }
            ConfigError::Unsupported { option, why } => write!(f, "option `{option}`: {why}"),
            ConfigError::Needs(a, b) => write!(f, "option `{a}` needs `{b}`"),
            ConfigError::Excludes { a, b, why } => {
                write!(f, "options `{a}` and `{b}` exclude each other: {why}")
            }
            ConfigError::Key(e) => write!(f, "option `--keys`: {e}"),
        }
    }
}

impl ConfigError {
    /// `BadValue` for `option`'s `value`.
    pub(crate) fn bad(option: &'static str, value: &str, expected: &'static str) -> ConfigError {
        ConfigError::BadValue {
            option,
            value: value.into(),
            expected,
        }
    }
}
