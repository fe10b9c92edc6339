//! Randomness for crates that ask `getrandom` (sunset's SSH keys and
//! nonces): the image is built with `--cfg getrandom_backend="custom"`, so
//! getrandom 0.4 calls `__getrandom_v03_custom`, answered here from a
//! ChaCha20 generator keyed from the platform's at boot.

use crate::rng::Rng;
use core::cell::UnsafeCell;

struct Global(UnsafeCell<Option<Rng>>);

// SAFETY: the guest has one vCPU and no interrupt handlers; the cell is
// only touched by `install` (once, at boot) and `fill`, which never nest.
unsafe impl Sync for Global {}

static GLOBAL: Global = Global(UnsafeCell::new(None));

/// Key the getrandom generator from `rng`; called once at boot.
pub(crate) fn install(rng: &mut Rng) {
    let mut seed = [0u8; 32];
    rng.fill(&mut seed);
    let mut key = [0u32; 8];
    for (w, c) in key.iter_mut().zip(seed.chunks_exact(4)) {
        *w = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    // SAFETY: single-threaded, not reentrant (see `Global`).
    unsafe { *GLOBAL.0.get() = Some(Rng::from_key(key)) };
}

/// The getrandom 0.4 custom backend.
///
/// # Safety
/// `dest` must be valid for writes of `len` bytes (getrandom's contract).
#[no_mangle]
unsafe extern "Rust" fn __getrandom_v03_custom(
    dest: *mut u8,
    len: usize,
) -> Result<(), getrandom::Error> {
    // SAFETY: single-threaded, not reentrant (see `Global`).
    let rng = unsafe { &mut *GLOBAL.0.get() };
    let Some(rng) = rng.as_mut() else {
        return Err(getrandom::Error::UNSUPPORTED);
    };
    // SAFETY: the caller guarantees `dest` is valid for `len` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(dest, len) };
    rng.fill(out);
    Ok(())
}
