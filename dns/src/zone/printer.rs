//! The canonical printer: one record per line, absolute names, nodes in
//! canonical order, the SOA first, then types in numeric order, RDATAs in
//! wire order. Stable and diff-friendly: equal zones print identically.

use super::store::Zone;
use crate::rdata::write_text_rdata;
use crate::rtype::{self, SOA};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

/// Print a zone in canonical master-file form.
pub fn print(z: &Zone) -> String {
    let mut out = format!("$ORIGIN {}\n", z.origin);
    for node in z.nodes() {
        let mut sets: Vec<_> = node.rrsets().collect();
        sets.sort_by_key(|s| {
            if s.rtype == SOA {
                0
            } else {
                s.rtype as u32 + 1
            }
        });
        for set in sets {
            // RDATAs are kept in wire order.
            let owner = node.name();
            for rd in set.rdatas {
                let _ = write!(
                    out,
                    "{} {} IN {} ",
                    owner,
                    set.ttl,
                    rtype::to_text(set.rtype)
                );
                write_text_rdata(&mut out, set.rtype, rd);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::Name;
    use crate::zone::parser::parse_str;

    fn zone(text: &str) -> Zone {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        Zone::from_records(o.clone(), &parse_str("z", text, &o).unwrap().records)
    }

    /// A small deterministic generator (xorshift) for property tests.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    #[test]
    fn parse_print_parse_is_identity() {
        let owners = [
            "@",
            "www",
            "a.b",
            "*.w",
            "x\\.y",
            "\\200",
            "mail",
            "_sip._tcp",
        ];
        let rdatas = [
            "A 192.0.2.7",
            "AAAA 2001:db8::7",
            "MX 10 mail",
            "TXT \"hello world\" \"x\\\"y\"",
            "SRV 1 2 3 target.",
            "CAA 0 issue \"ca.example\"",
            "TLSA 3 1 1 aabb",
            "SSHFP 1 1 00ff",
            "NAPTR 1 1 \"s\" \"x\" \"\" .",
            "HINFO \"a\" \"b\"",
            "TYPE65280 \\# 2 abcd",
            "DS 1 13 2 00112233",
            "URI 1 1 \"https://x/\"",
            "LOC 1 2 3.456 S 7 8 9.000 W 10.00m 1m 2m 3m",
            "HTTPS 1 . alpn=h2 port=443",
            "PTR host.",
            "DNAME target.",
        ];
        let mut g = Gen(0x1234_5678_9abc_def0);
        for _ in 0..200 {
            let mut text = String::from("$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n");
            for _ in 0..(g.next() % 12) {
                let owner = g.pick(&owners);
                let ttl = g.next() % 100_000;
                text.push_str(&format!("{owner} {ttl} {}\n", g.pick(&rdatas)));
            }
            let z = zone(&text);
            let printed = print(&z);
            let again = zone(&printed);
            assert_eq!(again, z, "{text}\n---\n{printed}");
            assert_eq!(print(&again), printed, "printing is stable");
        }
    }

    #[test]
    fn output_is_canonical() {
        let z = zone("$TTL 60\nwww A 192.0.2.2\n@ NS ns\nwww A 192.0.2.1\n@ SOA ns hm 1 2 3 4 5\n");
        assert_eq!(
            print(&z),
            "$ORIGIN example.org.\nexample.org. 60 IN SOA ns.example.org. hm.example.org. 1 2 3 4 5\nexample.org. 60 IN NS ns.example.org.\nwww.example.org. 60 IN A 192.0.2.1\nwww.example.org. 60 IN A 192.0.2.2\n"
        );
    }
}
