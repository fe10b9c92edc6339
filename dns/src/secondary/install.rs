//! Serving what a transfer brought, in the served set: a whole zone takes
//! the place of the one served (RFC 5936), differences are applied to it
//! in place (RFC 1995 3); both are recorded in the zone's IXFR history so
//! our own secondaries can ask IXFR of us.

use super::ixfr_apply::{self, ApplyError};
use super::Received;
use crate::name::Name;
use crate::zone::printer;
use crate::zoneset::ZoneSet;
use alloc::string::String;
use alloc::vec::Vec;

/// What an install did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Installed {
    /// Nothing to do: we are current.
    Current,
    /// The served zone changed.
    Changed,
    /// The differences do not fit our copy (or we hold none): nothing
    /// changed; the core must be told (`Secondary::apply_failed`), it
    /// asks AXFR.
    DidNotApply(Option<ApplyError>),
}

/// Install `data` for `zone` into `zs`.
pub fn install(zs: &mut ZoneSet, zone: &Name, data: Received) -> Installed {
    match data {
        Received::Current(_) => Installed::Current,
        Received::Full(z) => {
            zs.replace(z);
            Installed::Changed
        }
        Received::Incremental(diffs) => {
            match zs.edit_in_place(zone, |z| ixfr_apply::apply(z, &diffs)) {
                Some(Ok(())) => Installed::Changed,
                Some(Err(e)) => Installed::DidNotApply(Some(e)),
                None => Installed::DidNotApply(None),
            }
        }
    }
}

/// Every served zone as a master file named by its origin (lower case, no
/// final dot): the storage cache's form, read back at boot.
pub fn master_files(zs: &ZoneSet) -> Vec<(String, Vec<u8>)> {
    zs.zones()
        .map(|z| {
            let name = z.origin.to_text();
            let name = name.trim_end_matches('.').to_lowercase();
            (name, printer::print(z).into_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal;
    use crate::secondary::ixfr_apply::tests::{origin, zone};

    #[test]
    fn whole_zones_replace_differences_edit_in_place_with_history() {
        let (v1, v2, v3) = (
            zone(1, "a A 192.0.2.10\n"),
            zone(2, "a A 192.0.2.11\n"),
            zone(3, "a A 192.0.2.12\nb A 192.0.2.13\n"),
        );
        let mut zs = ZoneSet::default();
        let o = origin();
        let d = journal::diff(&v1, &v2).unwrap();
        let none = install(&mut zs, &o, Received::Incremental(alloc::vec![d]));
        assert_eq!(none, Installed::DidNotApply(None), "nothing held");
        assert_eq!(
            install(&mut zs, &o, Received::Full(v1.clone())),
            Installed::Changed
        );
        assert_eq!(
            install(&mut zs, &o, Received::Full(v2.clone())),
            Installed::Changed
        );
        assert_eq!(
            install(&mut zs, &o, Received::Current(2)),
            Installed::Current
        );
        let d = journal::diff(&v2, &v3).unwrap();
        let got = install(&mut zs, &o, Received::Incremental(alloc::vec![d.clone()]));
        assert_eq!(got, Installed::Changed);
        assert_eq!(zs.zone(&o), Some(&v3));
        // Both changes are in the history our own secondaries ask IXFR of.
        assert_eq!(
            zs.journal(&o).and_then(|j| j.chain(1, 3)).map(|c| c.len()),
            Some(2)
        );
        // The same differences again do not fit (the zone is at 3).
        let again = install(&mut zs, &o, Received::Incremental(alloc::vec![d]));
        assert!(
            matches!(again, Installed::DidNotApply(Some(_))),
            "{again:?}"
        );
        assert_eq!(zs.zone(&o), Some(&v3), "unchanged");
        let files = master_files(&zs);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].0, "example.org");
        assert!(core::str::from_utf8(&files[0].1)
            .unwrap()
            .contains("192.0.2.13"));
    }
}
