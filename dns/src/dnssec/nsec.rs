//! NSEC proofs (RFC 4035 3.1.3): the NSEC of a name that exists, or the
//! NSEC covering a name that does not (owner before it, next name after
//! it in canonical order, RFC 4034 6.1).

use super::{prove, Denial};
use crate::answer::Section;
use crate::name::{Key, Name};
use crate::rtype::NSEC;
use crate::zone::{Node, Zone};

/// RFC 4035 3.1.3.1 (NODATA: the name's NSEC, or for an empty
/// non-terminal the NSEC covering it) and 3.1.3.2 (NXDOMAIN: the NSEC
/// covering the name and the one covering the wildcard at its closest
/// encloser).
pub fn deny<'z, const N: usize>(zone: &'z Zone, d: Denial<'_, 'z>, out: &mut Section<'z, N>) {
    match d {
        Denial::NoData(node) => prove(node, NSEC, out),
        Denial::Empty(name) => cover(zone, name, out),
        Denial::NxDomain { name, ce } => {
            cover(zone, name, out);
            if let Some(w) = ce.wildcard_child() {
                cover(zone, &w, out);
            }
        }
    }
}

/// The NSEC covering `name` (a name that does not exist) into `out`.
pub fn cover<'z, const N: usize>(zone: &'z Zone, name: &Name, out: &mut Section<'z, N>) {
    if let Some(n) = covering(zone, name) {
        prove(n, NSEC, out);
    }
}

/// The node whose NSEC covers `name`: the last one before it that has an
/// NSEC. Names below a zone cut (glue) have none: their cut's NSEC is the
/// one (RFC 4035 2.3).
fn covering<'z>(zone: &'z Zone, name: &Name) -> Option<Node<'z>> {
    let whole = name.key();
    let mut k = Key::from_slice(zone.rel_key(&whole)?);
    loop {
        let n = zone.node_before(&k)?;
        if n.get(NSEC).is_some() {
            return Some(n);
        }
        if let Some(cut) = zone.delegation_above(&n.name()) {
            if cut.get(NSEC).is_some() {
                return Some(cut);
            }
        }
        k = Key::from_slice(n.key());
    }
}
