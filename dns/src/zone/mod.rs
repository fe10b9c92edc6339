//! Zones: the master-file lexer and parser, the in-memory zone, its checks
//! and the canonical printer.

mod chain;
pub mod check;
pub mod finding;
mod index;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod store;

pub use finding::{Finding, Src};
pub use store::{Node, RRset, RRsets, RdataIter, Rdatas, Saved, Zone, ZoneBuilder};
