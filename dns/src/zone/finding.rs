//! What the zone checks report: a [`Finding`] at file:line:col (an error
//! rejects the zone, a warning does not), and [`Notes`], a bounded list of
//! warnings gathered while a zone is built.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// Where a record was read: index into the zone's file list, line and
/// column of its first token (1-based). All zero when it came from no file
/// (an UPDATE, a transfer).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Src {
    pub file: u16,
    pub line: u32,
    pub col: u16,
}

impl Src {
    pub fn new(file: u16, line: u32, col: u32) -> Src {
        Src {
            file,
            line,
            col: col.min(u16::MAX as u32) as u16,
        }
    }
}

/// A finding at file:line:col.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub what: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.what),
            _ => write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.what),
        }
    }
}

impl Finding {
    /// A finding at `src`, its file named from `files`.
    pub fn at(files: &[String], src: Src, what: String) -> Finding {
        Finding {
            file: files.get(src.file as usize).cloned().unwrap_or_default(),
            line: src.line,
            col: src.col as u32,
            what,
        }
    }
}

/// Warnings kept for one zone; beyond that they are only counted, so a
/// zone of a million out-of-zone records costs no more memory than one.
pub const MAX_WARNINGS: usize = 100;

/// Warnings in the order found, at most [`MAX_WARNINGS`] of them.
#[derive(Clone, Debug, Default)]
pub struct Notes {
    list: Vec<(Src, String)>,
    more: usize,
}

impl Notes {
    /// Note `what` at `src` (`what` is made only when it is kept).
    pub fn push(&mut self, src: Src, what: impl FnOnce() -> String) {
        if self.list.len() < MAX_WARNINGS {
            self.list.push((src, what()));
        } else {
            self.more += 1;
        }
    }

    /// Append `other`'s notes.
    pub fn extend(&mut self, other: Notes) {
        self.more += other.more;
        for (src, what) in other.list {
            self.push(src, || what);
        }
    }

    /// As findings, the files named from `files`; a last one counts those
    /// left out.
    pub fn into_findings(self, files: &[String]) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .list
            .into_iter()
            .map(|(src, what)| Finding::at(files, src, what))
            .collect();
        if self.more > 0 {
            out.push(Finding {
                file: files.first().cloned().unwrap_or_default(),
                line: 0,
                col: 0,
                what: format!("{} more warnings not shown", self.more),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn notes_are_bounded_and_counted() {
        let mut n = Notes::default();
        for i in 0..MAX_WARNINGS as u32 + 5 {
            n.push(Src::new(0, i + 1, 70_000), || format!("w{i}"));
        }
        let f = n.into_findings(&["z".to_string()]);
        assert_eq!(f.len(), MAX_WARNINGS + 1);
        assert_eq!(f[0].to_string(), "z:1:65535: w0");
        assert_eq!(f[MAX_WARNINGS].what, "5 more warnings not shown");
    }
}
