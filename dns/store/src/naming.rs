//! Which file of the archive holds a zone.

use crate::archive::File;
use alloc::string::String;
use gitns_dns::name::Name;

/// The file `zone` was loaded from (its name, with or without the final
/// dot, in any case), or the name a new file for it gets.
pub fn zone_file_name(files: &[File], zone: &Name) -> String {
    let text = zone.to_text();
    let bare = text.trim_end_matches('.');
    files
        .iter()
        .map(|(n, _)| n)
        .find(|n| n.trim_end_matches('.').eq_ignore_ascii_case(bare))
        .cloned()
        .unwrap_or_else(|| String::from(bare))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec::Vec;

    #[test]
    fn a_zone_keeps_its_file_and_a_new_one_is_named_after_it() {
        let files: Vec<File> = alloc::vec![("Example.ORG.".to_string(), Vec::new())];
        let name = |s| Name::parse(s, &Name::root()).unwrap();
        assert_eq!(
            zone_file_name(&files, &name("example.org.")),
            "Example.ORG."
        );
        assert_eq!(zone_file_name(&files, &name("example.net.")), "example.net");
    }
}
