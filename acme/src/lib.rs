//! gitns-acme: an RFC 8555 client as a sans-I/O state machine (not yet written).
#![no_std]
extern crate alloc;
