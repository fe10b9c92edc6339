//! The gitns image entry (built by `cargo xtask build`).
#![no_std]
#![no_main]

use gitns_guest as _;
