//! The zone-cache tar reader on arbitrary device contents: never panics,
//! and what it reads round-trips through the writer.
#![no_main]

use gitns_store::archive;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = archive::Limits { max_total: 1 << 20, max_files: 100 };
    let read = |off: u64, out: &mut [u8]| -> Result<(), ()> {
        let s = usize::try_from(off).map_err(|_| ())?;
        let src = data.get(s..s.checked_add(out.len()).ok_or(())?).ok_or(())?;
        out.copy_from_slice(src);
        Ok(())
    };
    if let Ok((files, _end)) = archive::read(data.len() as u64, limits, read) {
        let files: Vec<_> = files.into_iter().filter(|(name, _)| name.len() <= 100).collect();
        let again = archive::write(&files, 0);
        let back = archive::read(again.len() as u64, limits, |off: u64, out: &mut [u8]| -> Result<(), ()> {
            out.copy_from_slice(&again[off as usize..off as usize + out.len()]);
            Ok(())
        })
        .expect("our own archive reads back")
        .0;
        assert_eq!(back, files);
    }
});
