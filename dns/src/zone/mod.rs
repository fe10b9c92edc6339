//! Zones: the master-file lexer and parser, the in-memory zone, its checks
//! and the canonical printer.

pub mod lexer;
