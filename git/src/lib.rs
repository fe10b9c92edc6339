//! gitns-git: git over SSH (pkt-line, smart protocol, packfiles, objects) as
//! sans-I/O no_std code.
#![no_std]
extern crate alloc;
