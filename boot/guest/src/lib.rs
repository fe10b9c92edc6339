//! The gitns guest platform on the Solo5 hvt ABI (not yet written).
#![no_std]
