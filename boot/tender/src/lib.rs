//! The part of gitns-hvt shared with the unix platform: host tap devices.
pub mod tap;
