//! Answering a query makes no heap allocation (issue 9): hits, CNAME
//! chains, MX with additional records, NXDOMAIN, NODATA, referrals with
//! glue, wildcards, DNAME, ANY, EDNS (DO, NSID, keepalive, cookies, with
//! rate limiting on) and TCP. Counted by a global
//! allocator that counts only on the thread that armed it (the test
//! harness runs other threads).

use gitns_dns::authority::{serve, Ctx, Policy, Transport};
use gitns_dns::cookie::Secrets;
use gitns_dns::name::Name;
use gitns_dns::rrl::{self, Rrl};
use gitns_dns::zoneset::ZoneSet;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // try_with: thread-locals may be gone while a thread exits.
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// thread-local counter has no effect on the memory handed out and never
// allocates (const-initialised Cells).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        note();
        // SAFETY: `ptr` and `layout` come from this allocator, which is System's.
        unsafe { System.realloc(ptr, layout, new) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by System with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const ZONE: &str = "$TTL 300
@ SOA ns1 hostmaster 7 7200 3600 1209600 300
@ NS ns1
@ NS ns2
@ MX 10 mail
@ MX 20 mail2
@ TXT \"v=spf1 -all\"
ns1 A 192.0.2.1
ns1 AAAA 2001:db8::1
ns2 A 192.0.2.2
mail A 192.0.2.25
mail AAAA 2001:db8::25
mail2 A 192.0.2.26
www A 192.0.2.80
www AAAA 2001:db8::80
alias CNAME www
chain CNAME alias
_sip._tcp SRV 0 5 5060 www
*.wild A 192.0.2.99
old DNAME example.org.
sub NS ns.sub
sub NS ns2.sub
ns.sub A 192.0.2.53
ns.sub AAAA 2001:db8::53
ns2.sub A 192.0.2.54
a.b.c A 192.0.2.3
";

const ORG: &str = "$TTL 300
@ SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300
@ NS ns1.example.com.
www A 198.51.100.80
";

/// A query for `name`/`qtype`, with an EDNS OPT (4096 bytes, DO, NSID,
/// keepalive and a client cookie) when asked.
fn query(id: u16, name: &str, qtype: u16, edns: bool) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, edns as u8]);
    m.extend_from_slice(Name::parse(name, &Name::root()).unwrap().wire());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    if edns {
        m.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0x80, 0, 0, 4 + 4 + 12]);
        m.extend_from_slice(&[0, 3, 0, 0, 0, 11, 0, 0, 0, 10, 0, 8]);
        m.extend_from_slice(&[7; 8]);
    }
    m
}

#[test]
fn answering_queries_allocates_nothing() {
    let files = vec![
        ("example.com".to_string(), ZONE.as_bytes().to_vec()),
        ("example.org".to_string(), ORG.as_bytes().to_vec()),
    ];
    let (mut zs, rep) = ZoneSet::load(&files, None);
    assert!(rep.errors.is_empty(), "{:?}", rep.errors);
    assert_eq!(rep.loaded.len(), 2);
    let (a, aaaa, mx, txt, soa, ns, srv, any, cname) = (1, 28, 15, 16, 6, 2, 33, 255, 5);
    let cases = [
        ("www.example.com.", a),
        ("www.example.com.", aaaa),
        ("alias.example.com.", a),
        ("chain.example.com.", aaaa),
        ("alias.example.com.", cname),
        ("example.com.", mx),
        ("example.com.", txt),
        ("example.com.", soa),
        ("example.com.", ns),
        ("example.com.", any),
        ("_sip._tcp.example.com.", srv),
        ("nope.example.com.", a),
        ("www.example.com.", mx),
        ("b.c.example.com.", a),
        ("x.wild.example.com.", a),
        ("x.old.example.com.", a),
        ("sub.example.com.", a),
        ("deep.www.sub.example.com.", aaaa),
        ("www.example.net.", a),
    ];
    let mut queries = Vec::new();
    for (i, (n, t)) in cases.iter().enumerate() {
        for edns in [false, true] {
            queries.push((query(i as u16, n, *t, edns), Transport::Udp));
            queries.push((query(i as u16, n, *t, edns), Transport::Tcp));
        }
    }
    let mut out = vec![0u8; 65535];
    let mut answered = 0;
    let policy = Policy {
        nsid: Some(b"ns1".to_vec()),
        ..Default::default()
    };
    let secrets = Secrets::new([1; 16], 0);
    let cfg = rrl::Config {
        rate: 1_000_000,
        ..Default::default()
    };
    let mut limiter = Rrl::new(cfg, 1024, [2; 16]);
    let mut run = |zs: &mut ZoneSet, answered: &mut usize| {
        for (q, t) in &queries {
            let mut ctx = Ctx::new(*t, 0, &policy);
            ctx.cookies = Some(&secrets);
            ctx.rrl = Some(&mut limiter);
            ctx.keepalive = Some(100);
            serve(zs, q, &mut ctx, &mut out, &mut |m| {
                assert!(m.len() > 12);
                *answered += 1;
            });
        }
    };
    run(&mut zs, &mut answered);
    assert_eq!(answered, queries.len(), "every query is answered");
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    run(&mut zs, &mut answered);
    ARMED.with(|a| a.set(false));
    assert_eq!(
        COUNT.with(|c| c.get()),
        0,
        "heap allocations while answering"
    );
    assert_eq!(answered, 2 * queries.len());
}
