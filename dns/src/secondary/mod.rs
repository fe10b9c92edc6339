//! The secondary (issue 23): zones transferred in from a primary, kept
//! fresh by the SOA timers and NOTIFY, as a sans-I/O core.
//!
//! - [`source`]: what to follow, from the seed's key names.
//! - [`timers`]: REFRESH / RETRY / EXPIRE of one zone.
//! - [`tsig_chain`]: TSIG over every message of a transfer.

pub mod ixfr_apply;
pub mod request;
pub mod response;
pub mod source;
pub mod timers;
pub mod tsig_chain;
pub mod xfr_in;
