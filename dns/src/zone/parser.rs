//! Master file parser (RFC 1035 5): directives `$ORIGIN`, `$TTL`
//! (RFC 2308 4), `$INCLUDE`; owner inheritance; TTL and class in either
//! order; every RDATA through [`crate::rdata`]. Errors carry file:line:col.

use super::lexer::{self, Line, Token};
use crate::name::Name;
use crate::rdata::{self, parse_ttl, Tok};
use crate::rtype::{self, class_from_text};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// Deepest `$INCLUDE` nesting.
const MAX_INCLUDE_DEPTH: usize = 8;

/// Most `$INCLUDE`s one zone may read (a file read twice counts twice):
/// nesting within the depth bound could otherwise read a file 8^8 times.
pub const MAX_INCLUDES: usize = 64;

/// Most text one zone may read through `$INCLUDE` (repeats counted): a
/// zone is built from what it reads, and a file included many times would
/// hold that many copies until they are merged.
pub const MAX_INCLUDED_BYTES: usize = 64 << 20;

/// A record as read from a master file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub name: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
    /// Where it was read: index into the file list, line and column of
    /// its first token.
    pub file: u16,
    pub line: u32,
    pub col: u32,
}

/// A parse error at file:line:column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub what: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.what)
    }
}

/// A record as the parser hands it to [`parse_each`]'s sink (borrowed:
/// no allocation per record).
#[derive(Clone, Copy, Debug)]
pub struct RecordRef<'r> {
    pub name: &'r Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: &'r [u8],
    pub file: u16,
    pub line: u32,
    pub col: u32,
}

impl Record {
    /// The record borrowed, as [`parse_each`] hands records out.
    pub fn borrow(&self) -> RecordRef<'_> {
        RecordRef {
            name: &self.name,
            rtype: self.rtype,
            class: self.class,
            ttl: self.ttl,
            rdata: &self.rdata,
            file: self.file,
            line: self.line,
            col: self.col,
        }
    }
}

impl RecordRef<'_> {
    /// The record owned.
    pub fn owned(&self) -> Record {
        Record {
            name: self.name.clone(),
            rtype: self.rtype,
            class: self.class,
            ttl: self.ttl,
            rdata: self.rdata.to_vec(),
            file: self.file,
            line: self.line,
            col: self.col,
        }
    }
}

/// The result of parsing one zone's files.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    pub records: Vec<Record>,
    /// File names, indexed by `Record::file`.
    pub files: Vec<String>,
}

struct State<'a> {
    origin: Name,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    last_owner: Option<Name>,
    include: &'a dyn Fn(&str) -> Option<String>,
    stack: Vec<String>,
    files: Vec<String>,
    /// `$INCLUDE`s read so far, and their bytes.
    included: (usize, usize),
    sink: &'a mut dyn FnMut(RecordRef<'_>),
}

/// Parse the master file `file` with contents `text` for zone `origin`.
/// `include(path)` returns the text of another file of the same set.
pub fn parse(
    file: &str,
    text: &str,
    origin: &Name,
    include: &dyn Fn(&str) -> Option<String>,
) -> Result<Parsed, ParseError> {
    let mut records = Vec::new();
    let files = parse_each(file, text, origin, include, &mut |r| {
        records.push(r.owned())
    })?;
    Ok(Parsed { records, files })
}

/// As [`parse`], handing each record to `sink` as it is read instead of
/// collecting them (a large zone is built without a record list). Returns
/// the file names, indexed by `RecordRef::file`.
pub fn parse_each(
    file: &str,
    text: &str,
    origin: &Name,
    include: &dyn Fn(&str) -> Option<String>,
    sink: &mut dyn FnMut(RecordRef<'_>),
) -> Result<Vec<String>, ParseError> {
    let mut st = State {
        origin: origin.clone(),
        default_ttl: None,
        last_ttl: None,
        last_owner: None,
        include,
        stack: Vec::new(),
        files: Vec::new(),
        included: (0, 0),
        sink,
    };
    parse_file(&mut st, file, text)?;
    Ok(st.files)
}

fn perr(file: &str, t: &Token, what: impl Into<String>) -> ParseError {
    ParseError {
        file: file.to_string(),
        line: t.line,
        col: t.col,
        what: what.into(),
    }
}

fn parse_file(st: &mut State, file: &str, text: &str) -> Result<(), ParseError> {
    let mut lx = lexer::Lexer::new(text);
    st.stack.push(file.to_string());
    let idx = st.files.len().min(u16::MAX as usize) as u16;
    st.files.push(file.to_string());
    let mut line = Line::default();
    while let Some(r) = lx.next_into(&mut line) {
        r.map_err(|e| ParseError {
            file: file.to_string(),
            line: e.line,
            col: e.col,
            what: e.what.to_string(),
        })?;
        if line.tokens[0].text.starts_with('$') && !line.blank_owner {
            directive(st, file, &line)?;
        } else {
            record(st, file, idx, &line)?;
        }
    }
    st.stack.pop();
    Ok(())
}

fn directive(st: &mut State, file: &str, line: &Line) -> Result<(), ParseError> {
    let t = &line.tokens;
    let arg = |i: usize, what: &str| {
        t.get(i)
            .ok_or_else(|| perr(file, &t[i - 1], format!("{} needs {what}", t[0].text)))
    };
    match t[0].text.to_ascii_uppercase().as_str() {
        "$ORIGIN" => {
            let a = arg(1, "a domain name")?;
            st.origin = Name::parse(&a.text, &st.origin)
                .map_err(|e| perr(file, a, format!("bad $ORIGIN: {e}")))?;
            extra(file, t, 2)
        }
        "$TTL" => {
            let a = arg(1, "a TTL")?;
            st.default_ttl = Some(
                parse_ttl(&a.text)
                    .ok_or_else(|| perr(file, a, "expected a TTL like 3600 or 1h"))?,
            );
            extra(file, t, 2)
        }
        "$INCLUDE" => {
            let a = arg(1, "a file name")?;
            let path: &str = &a.text;
            if path.starts_with('/') || path.split('/').any(|c| c == ".." || c.is_empty()) {
                return Err(perr(
                    file,
                    a,
                    "$INCLUDE must name a file of the zone set (relative, no '..')",
                ));
            }
            if st.stack.iter().any(|f| f == path) {
                return Err(perr(
                    file,
                    a,
                    format!("$INCLUDE cycle: {path} is already being read"),
                ));
            }
            if st.stack.len() >= MAX_INCLUDE_DEPTH {
                return Err(perr(file, a, "$INCLUDE nested too deeply"));
            }
            if st.included.0 >= MAX_INCLUDES {
                return Err(perr(
                    file,
                    a,
                    format!("$INCLUDE: more than {MAX_INCLUDES} files read for one zone"),
                ));
            }
            let text = (st.include)(path).ok_or_else(|| {
                perr(file, a, format!("$INCLUDE: no file {path} in the zone set"))
            })?;
            st.included = (st.included.0 + 1, st.included.1.saturating_add(text.len()));
            if st.included.1 > MAX_INCLUDED_BYTES {
                return Err(perr(
                    file,
                    a,
                    format!(
                        "$INCLUDE: more than {} MiB read through $INCLUDE for one zone",
                        MAX_INCLUDED_BYTES >> 20
                    ),
                ));
            }
            let saved = st.origin.clone();
            if let Some(o) = t.get(2) {
                st.origin = Name::parse(&o.text, &st.origin)
                    .map_err(|e| perr(file, o, format!("bad origin: {e}")))?;
            }
            extra(file, t, 3)?;
            parse_file(st, path, &text)?;
            st.origin = saved; // RFC 1035 5.1: the origin reverts after an include
            Ok(())
        }
        _ => Err(perr(
            file,
            &t[0],
            format!("unknown directive {}", t[0].text),
        )),
    }
}

fn extra(file: &str, t: &[Token], from: usize) -> Result<(), ParseError> {
    match t.get(from) {
        Some(x) => Err(perr(file, x, "unexpected data after the directive")),
        None => Ok(()),
    }
}

fn record(st: &mut State, file: &str, idx: u16, line: &Line) -> Result<(), ParseError> {
    let t = &line.tokens;
    let (owner, i) = owner(st, file, line)?;
    let (rtype, ttl, i) = type_and_ttl(file, t, i)?;
    let type_tok = &t[i];
    let rd = rdata_of(st, file, t, i, rtype, &owner)?;
    // RFC 1035 5.1 / RFC 2308 4: explicit TTL, else $TTL, else the last
    // TTL; an SOA with none of these takes its MINIMUM field.
    let ttl = ttl
        .or(st.default_ttl)
        .or(st.last_ttl)
        .or_else(|| (rtype == rtype::SOA).then(|| soa_minimum(&rd)))
        .ok_or_else(|| perr(file, type_tok, "no TTL: give one or set $TTL"))?;
    st.last_ttl = Some(ttl);
    (st.sink)(RecordRef {
        name: &owner,
        rtype,
        class: rtype::IN,
        ttl,
        rdata: &rd,
        file: idx,
        line: t[0].line,
        col: t[0].col,
    });
    st.last_owner = Some(owner);
    Ok(())
}

/// The record's owner (a blank one is the last owner), and the index of
/// the token after it.
fn owner(st: &State, file: &str, line: &Line) -> Result<(Name, usize), ParseError> {
    let t = &line.tokens;
    if line.blank_owner {
        let owner = st.last_owner.clone().ok_or_else(|| {
            perr(
                file,
                &t[0],
                "no owner: the first record must name its owner",
            )
        })?;
        return Ok((owner, 0));
    }
    let owner = Name::parse(&t[0].text, &st.origin)
        .map_err(|e| perr(file, &t[0], format!("bad owner name: {e}")))?;
    Ok((owner, 1))
}

/// The TTL and class (either order, both optional) from token `i` on, then
/// the type: the type, the TTL given, and the index of the type's token.
/// Only class IN is served.
fn type_and_ttl(
    file: &str,
    t: &[Token],
    mut i: usize,
) -> Result<(u16, Option<u32>, usize), ParseError> {
    let (mut ttl, mut class) = (None, None);
    let rtype = loop {
        let tok = t
            .get(i)
            .ok_or_else(|| perr(file, t.last().unwrap_or(&t[0]), "expected a record type"))?;
        if let Some(ty) = rtype::from_text(&tok.text) {
            break ty;
        } else if let (None, Some(c)) = (class, class_from_text(&tok.text)) {
            class = Some(c);
        } else if let (None, Some(v)) = (ttl, parse_ttl(&tok.text)) {
            ttl = Some(v);
        } else {
            return Err(perr(
                file,
                tok,
                format!("expected a TTL, class or record type, found `{}`", tok.text),
            ));
        }
        i += 1;
    };
    if class.unwrap_or(rtype::IN) != rtype::IN {
        return Err(perr(file, &t[i], "only class IN is served"));
    }
    Ok((rtype, ttl, i))
}

/// The RDATA of type `rtype` from the tokens after the type's (index
/// `i`), checked to fit a message at `owner`.
fn rdata_of<'t>(
    st: &State,
    file: &str,
    t: &'t [Token],
    i: usize,
    rtype: u16,
    owner: &Name,
) -> Result<Vec<u8>, ParseError> {
    let type_tok = &t[i];
    let tok = |x: &'t Token| Tok {
        text: &x.text,
        quoted: x.quoted,
    };
    // Most records have few fields: no list allocated for them.
    let fields = &t[i + 1..];
    let mut few = [Tok {
        text: "",
        quoted: false,
    }; 16];
    let many: Vec<Tok>;
    let toks: &[Tok] = if fields.len() <= few.len() {
        for (d, x) in few.iter_mut().zip(fields) {
            *d = tok(x);
        }
        &few[..fields.len()]
    } else {
        many = fields.iter().map(tok).collect();
        &many
    };
    let rd = rdata::from_text(rtype, toks, &st.origin).map_err(|e| {
        let at = t.get(i + 1 + e.token).unwrap_or(type_tok);
        perr(
            file,
            at,
            format!("{} record: {}", rtype::to_text(rtype), e.what),
        )
    })?;
    let max = rdata::max_rdata(owner.wire().len());
    if rd.len() > max {
        return Err(perr(
            file,
            type_tok,
            format!(
                "{} record: {} octets of RDATA cannot fit a DNS message \
                 (at most {max} at this owner; RFC 1035 3.2.1, 4.2.2)",
                rtype::to_text(rtype),
                rd.len()
            ),
        ));
    }
    Ok(rd)
}

/// The MINIMUM field of SOA RDATA (its TTL when none was given).
fn soa_minimum(rd: &[u8]) -> u32 {
    rd.len()
        .checked_sub(4)
        .map(|o| u32::from_be_bytes([rd[o], rd[o + 1], rd[o + 2], rd[o + 3]]))
        .unwrap_or(0)
}

/// Parse a zone file without includes (convenience for tests and tools).
pub fn parse_str(file: &str, text: &str, origin: &Name) -> Result<Parsed, ParseError> {
    parse(file, text, origin, &|_| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn o() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    fn err(text: &str) -> String {
        parse_str("z", text, &o()).unwrap_err().to_string()
    }

    #[test]
    fn the_rfc1035_forms() {
        let z = "$TTL 1h\n@ IN SOA ns hostmaster ( 1 2 3 4 5 )\n  NS ns\nns 300 A 192.0.2.1\n IN 600 AAAA 2001:db8::1\n$ORIGIN sub.example.org.\nwww CNAME @\n";
        let p = parse_str("z", z, &o()).unwrap();
        let r = &p.records;
        assert_eq!(r.len(), 5);
        assert_eq!(
            (r[0].name.to_text(), r[0].ttl),
            ("example.org.".into(), 3600)
        );
        assert_eq!(r[1].name, o());
        assert_eq!((r[2].ttl, r[3].ttl), (300, 600));
        assert_eq!(r[3].name.to_text(), "ns.example.org.");
        assert_eq!(r[4].name.to_text(), "www.sub.example.org.");
        assert_eq!(
            r[4].rdata,
            Name::parse("sub.example.org.", &o()).unwrap().wire()
        );
        assert_eq!(r[2].line, 4);
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            err("@ 3600 IN SOA ns hm 1 2 3 4 5\nwww 3600 A 192.0.2.300\n"),
            "z:2:12: A record: expected an IPv4 address"
        );
        assert_eq!(
            err("  A 192.0.2.1\n"),
            "z:1:3: no owner: the first record must name its owner"
        );
        assert_eq!(
            err("www A 192.0.2.1\n"),
            "z:1:5: no TTL: give one or set $TTL"
        );
        assert_eq!(err("$TTL x\n"), "z:1:6: expected a TTL like 3600 or 1h");
        assert_eq!(
            err("$TTL 60\nwww FOO 1\n"),
            "z:2:5: expected a TTL, class or record type, found `FOO`"
        );
        assert_eq!(
            err("$TTL 60\nwww CH A 1.2.3.4\n"),
            "z:2:8: only class IN is served"
        );
        assert_eq!(
            err("$TTL 60\nwww MX 10\n"),
            "z:2:5: MX record: expected a domain name"
        );
        assert_eq!(err("$BOGUS 1\n"), "z:1:1: unknown directive $BOGUS");
        assert_eq!(
            err("$TTL 60\nw A 1.2.3.4 (\n"),
            "z:2:13: unbalanced '(' (no closing parenthesis)"
        );
        assert_eq!(
            err("$TTL 60\nw TXT \"x\n"),
            "z:2:7: unterminated quoted string"
        );
    }

    #[test]
    fn includes_are_relative_bounded_and_acyclic() {
        let files = |p: &str| -> Option<String> {
            match p {
                "hosts" => Some("www A 192.0.2.1\n".to_string()),
                "loop" => Some("$INCLUDE loop\n".to_string()),
                "sub" => Some("x A 192.0.2.9\n".to_string()),
                _ => None,
            }
        };
        let p = parse(
            "z",
            "$TTL 60\n$INCLUDE hosts\n$INCLUDE sub sub.example.org.\ny A 192.0.2.2\n",
            &o(),
            &files,
        )
        .unwrap();
        assert_eq!(p.records.len(), 3);
        assert_eq!(p.records[1].name.to_text(), "x.sub.example.org.");
        assert_eq!(
            p.records[2].name.to_text(),
            "y.example.org.",
            "origin reverts after $INCLUDE"
        );
        assert_eq!(
            p.files,
            vec!["z".to_string(), "hosts".to_string(), "sub".to_string()]
        );
        let e = parse("z", "$INCLUDE loop\n", &o(), &files).unwrap_err();
        assert_eq!(
            e.to_string(),
            "loop:1:10: $INCLUDE cycle: loop is already being read"
        );
        let e = parse("z", "$INCLUDE ../etc/passwd\n", &o(), &files).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("z:1:10: $INCLUDE must name a file of the zone set"));
        let e = parse("z", "$INCLUDE missing\n", &o(), &files).unwrap_err();
        assert_eq!(
            e.to_string(),
            "z:1:10: $INCLUDE: no file missing in the zone set"
        );
    }

    /// A TXT record at www whose RDATA is `n` octets (strings of 255).
    fn txt(n: usize) -> String {
        let mut s = String::from("$TTL 60\nwww TXT");
        let mut left = n;
        while left > 0 {
            let k = left.min(256) - 1;
            s.push_str(&format!(" \"{}\"", "x".repeat(k)));
            left -= k + 1;
        }
        s.push('\n');
        s
    }

    #[test]
    fn rdata_that_cannot_fit_a_message_is_an_error() {
        let www = Name::parse("www", &o()).unwrap();
        let max = rdata::max_rdata(www.wire().len());
        assert_eq!(max, 64213);
        let p = parse_str("z", &txt(max), &o()).unwrap();
        assert_eq!(p.records[0].rdata.len(), max);
        let over = |n: usize| parse_str("z", &txt(n), &o()).unwrap_err().to_string();
        let msg = |n: usize| {
            format!(
                "z:2:5: TXT record: {n} octets of RDATA cannot fit a DNS message \
                 (at most 64213 at this owner; RFC 1035 3.2.1, 4.2.2)"
            )
        };
        assert_eq!(over(max + 1), msg(max + 1));
        // Over 65535: once a panic in the zone store (issue 24).
        assert_eq!(over(65536), msg(65536));
        assert_eq!(over(300 * 256), msg(300 * 256));
        let generic = format!("$TTL 60\nwww TYPE65280 \\# 70000 {}\n", "00".repeat(70000));
        assert_eq!(
            parse_str("z", &generic, &o()).unwrap_err().to_string(),
            "z:2:5: TYPE65280 record: 70000 octets of RDATA cannot fit a DNS message \
             (at most 64213 at this owner; RFC 1035 3.2.1, 4.2.2)"
        );
    }

    #[test]
    fn include_fan_out_is_bounded() {
        // Each level includes the next 8 times, 8 levels deep: 8^7 reads
        // without a bound on the count.
        let files = |p: &str| -> Option<String> {
            let n: usize = p.strip_prefix('f')?.parse().ok()?;
            Some(if n < 7 {
                format!("$INCLUDE f{}\n", n + 1).repeat(8)
            } else {
                "x A 192.0.2.1\n".to_string()
            })
        };
        let e = parse("z", "$TTL 60\n$INCLUDE f1\n", &o(), &files).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f6:5:10: $INCLUDE: more than 64 files read for one zone"
        );
        // 64 reads are fine.
        let flat = |p: &str| (p == "h").then(|| "x A 192.0.2.1\n".to_string());
        let text = format!("$TTL 60\n{}", "$INCLUDE h\n".repeat(MAX_INCLUDES));
        assert_eq!(parse("z", &text, &o(), &flat).unwrap().records.len(), 64);
        let text = format!("{text}$INCLUDE h\n");
        assert_eq!(
            parse("z", &text, &o(), &flat).unwrap_err().to_string(),
            "z:66:10: $INCLUDE: more than 64 files read for one zone"
        );
        // Bytes: two includes of half the bound plus one byte each.
        let half = MAX_INCLUDED_BYTES / 2;
        let big = |p: &str| -> Option<String> {
            let pad = if p == "a" { half } else { half + 1 };
            Some(format!(";{}\n", " ".repeat(pad - 2)))
        };
        assert!(parse("z", "$INCLUDE a\n$INCLUDE a\n", &o(), &big).is_ok());
        assert_eq!(
            parse("z", "$INCLUDE a\n$INCLUDE b\n", &o(), &big)
                .unwrap_err()
                .to_string(),
            "z:2:10: $INCLUDE: more than 64 MiB read through $INCLUDE for one zone"
        );
    }

    #[test]
    fn soa_ttl_rules() {
        // Found by the zone_parse fuzzer: an explicit TTL 0 stays 0.
        let p = parse_str(
            "z",
            "@ 0 SOA ns hm 1 2 3 4 5
",
            &o(),
        )
        .unwrap();
        assert_eq!(p.records[0].ttl, 0);
        let p = parse_str(
            "z",
            "@ SOA ns hm 1 2 3 4 5
",
            &o(),
        )
        .unwrap();
        assert_eq!(p.records[0].ttl, 5, "no TTL at all: the SOA MINIMUM");
    }

    #[test]
    fn class_and_ttl_in_either_order_and_unknown_types() {
        let p = parse_str(
            "z",
            "a IN 60 A 192.0.2.1\nb 60 IN A 192.0.2.2\nc 60 TYPE65280 \\# 4 0A000001\n",
            &o(),
        )
        .unwrap();
        assert_eq!(p.records.len(), 3);
        assert_eq!(p.records[2].rtype, 65280);
        assert_eq!(p.records[2].rdata, vec![10, 0, 0, 1]);
    }
}
