//! Exit statuses of a gitns guest, as the tender passes them through.
//!
//! Solo5 defines 0 (success), 1 (failure) and 255 (abort). gitns adds a
//! distinct status for configuration errors so `--restart-on-fail` can tell
//! a crash (restart) from a bad command line (do not restart).

/// Normal end.
pub const SUCCESS: i32 = 0;
/// Runtime failure.
pub const FAILURE: i32 = 1;
/// Bad command line or configuration (EX_USAGE of sysexits.h).
pub const CONFIG: i32 = 64;
/// The platform cannot run safely (e.g. no hardware entropy).
pub const UNSUPPORTED: i32 = 69;
/// Panic or abort (Solo5's SOLO5_EXIT_ABORT).
pub const ABORT: i32 = 255;

/// True when a restart may help (not a configuration error).
pub const fn is_crash(status: i32) -> bool {
    status != SUCCESS && status != CONFIG && status != UNSUPPORTED
}
