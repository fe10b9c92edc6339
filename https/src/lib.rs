//! gitns-https: a no_std HTTPS client core (rustls unbuffered + HTTP/1.1), sans-I/O (not yet written).
#![no_std]
extern crate alloc;
