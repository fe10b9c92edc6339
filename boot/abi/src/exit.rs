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
/// The guest's heap is exhausted: an allocation failed with no way to go
/// on (EX_OSERR of sysexits.h). A crash: `--restart-on-fail` restarts it.
pub const HEAP_EXHAUSTED: i32 = 71;
/// Panic or abort (Solo5's SOLO5_EXIT_ABORT).
pub const ABORT: i32 = 255;

/// True when a restart may help (not a configuration error).
pub const fn is_crash(status: i32) -> bool {
    status != SUCCESS && status != CONFIG && status != UNSUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_exhaustion_is_a_crash_of_its_own() {
        assert!(is_crash(HEAP_EXHAUSTED) && is_crash(ABORT) && is_crash(FAILURE));
        assert!(!is_crash(SUCCESS) && !is_crash(CONFIG) && !is_crash(UNSUPPORTED));
        let all = [SUCCESS, FAILURE, CONFIG, UNSUPPORTED, HEAP_EXHAUSTED, ABORT];
        for (i, a) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(a), "{a} twice");
        }
    }
}
