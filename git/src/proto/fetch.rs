//! Fetching one branch: v2 (`ls-refs` with a ref prefix, then `fetch`) or
//! v0 (ref advertisement, want/have/done, NAK, pack), with side-band-64k
//! and depth 1 always: a clone, and later fetches that name our head as a
//! have and as shallow (we hold no history behind it). So a fetch brings
//! the head's tree and never the history between: a file too big for the
//! guest that was pushed and then removed again does not come back with
//! every later fetch (issue 24).

use super::sideband::demux;
use super::{parse_ref_line, ProtoError};
use crate::oid::Oid;
use crate::pktline::{self, Pkt};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// v0: reading the ref advertisement. v2: reading capabilities.
    Advert,
    /// v2: reading the ls-refs answer.
    LsRefs,
    /// Reading acknowledgements/shallow lines until the pack starts.
    Negotiate,
    /// Reading side-band pack data.
    Pack,
    Done,
}

/// What the fetch produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// The branch head is one we have: nothing to transfer.
    UpToDate(Oid),
    /// A new head and the pack with what we lacked.
    Pack { head: Oid, pack: Vec<u8> },
}

/// The fetch state machine.
pub struct Fetch {
    branch: String,
    haves: Vec<Oid>,
    v2: bool,
    /// The first packet has been seen (it tells v2 from v0).
    started: bool,
    shallow: bool,
    state: State,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    head: Option<Oid>,
    pack: Vec<u8>,
    max_pack: usize,
    result: Option<Fetched>,
}

impl Fetch {
    /// Fetch `branch`; `haves` are commits we already hold, without their
    /// history (empty: clone). `v2`: the server was asked for protocol
    /// version 2; the answer decides (a v2 server starts with `version 2`,
    /// an older one or one that ignored the request sends the v0 ref
    /// advertisement).
    pub fn new(branch: &str, haves: Vec<Oid>, v2: bool, max_pack: usize) -> Fetch {
        let shallow = true;
        Fetch {
            branch: format!("refs/heads/{branch}"),
            haves,
            v2,
            started: false,
            shallow,
            state: State::Advert,
            inbuf: Vec::new(),
            out: Vec::new(),
            head: None,
            pack: Vec::new(),
            max_pack,
            result: None,
        }
    }

    /// Bytes to send to the server now.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    /// True when the server speaks protocol v2 (known after its first packet).
    pub fn protocol_v2(&self) -> bool {
        self.v2
    }

    /// The result once done.
    pub fn result(&self) -> Option<&Fetched> {
        self.result.as_ref()
    }

    /// Feed bytes from the server.
    pub fn input(&mut self, data: &[u8]) -> Result<(), ProtoError> {
        let mut buf = core::mem::take(&mut self.inbuf);
        let r = super::drain_pkts(&mut buf, data, |pkt| {
            let pkt = match pkt {
                Pkt::Data(d) => Some(d.to_vec()),
                Pkt::Flush => None,
                Pkt::Delim | Pkt::ResponseEnd => Some(Vec::new()),
            };
            self.packet(pkt)?;
            Ok(self.state == State::Done)
        });
        self.inbuf = buf;
        r
    }

    fn packet(&mut self, pkt: Option<Vec<u8>>) -> Result<(), ProtoError> {
        if let Some(d) = &pkt {
            if let Some(e) = d.strip_prefix(b"ERR ") {
                return Err(ProtoError::Remote(String::from_utf8_lossy(e).trim().into()));
            }
        }
        if !self.started {
            self.started = true;
            let v2 = pkt.as_deref() == Some(&b"version 2\n"[..]);
            if self.v2 || v2 {
                self.v2 = v2;
                if v2 {
                    return Ok(());
                }
            }
        }
        match self.state {
            State::Advert => self.advert(pkt),
            State::LsRefs => self.ls_ref(pkt),
            State::Negotiate => {
                let end = |d: &[u8]| {
                    d == b"packfile\n"
                        || (!self.v2 && (d.starts_with(b"NAK") || d.starts_with(b"ACK")))
                };
                if pkt.as_deref().is_some_and(end) {
                    self.state = State::Pack;
                }
                // shallow-info / acknowledgments sections: nothing to keep.
                Ok(())
            }
            State::Pack => self.pack_data(pkt),
            State::Done => Ok(()),
        }
    }

    /// The reference advertisement (v0: the refs; v2: the capabilities,
    /// then ls-refs is asked for).
    fn advert(&mut self, pkt: Option<Vec<u8>>) -> Result<(), ProtoError> {
        match pkt {
            // v2 capability lines: we use ls-refs and fetch, which every v2
            // server has.
            Some(_) if self.v2 => Ok(()),
            None if self.v2 => {
                pktline::encode(&mut self.out, b"command=ls-refs\n");
                pktline::encode(&mut self.out, b"agent=gitns\n");
                self.out.extend_from_slice(b"0001");
                pktline::encode(
                    &mut self.out,
                    format!("ref-prefix {}\n", self.branch).as_bytes(),
                );
                pktline::flush(&mut self.out);
                self.state = State::LsRefs;
                Ok(())
            }
            Some(d) => {
                if let Some((id, name, _caps)) = parse_ref_line(&d) {
                    if name == self.branch {
                        self.head = Some(id);
                    }
                }
                Ok(())
            }
            None => self.want(),
        }
    }

    /// One line of the v2 ls-refs answer, or its end.
    fn ls_ref(&mut self, pkt: Option<Vec<u8>>) -> Result<(), ProtoError> {
        let Some(d) = pkt else {
            return self.want();
        };
        let line = String::from_utf8_lossy(&d).trim_end().to_string();
        let mut w = line.split(' ');
        if let (Some(id), Some(name)) = (w.next(), w.next()) {
            if name == self.branch {
                self.head = Oid::from_hex(id.as_bytes());
            }
        }
        Ok(())
    }

    /// Pack data (side-band demultiplexed), or its end: the result.
    fn pack_data(&mut self, pkt: Option<Vec<u8>>) -> Result<(), ProtoError> {
        if let Some(d) = pkt {
            demux(&d, &mut self.pack)?;
            if self.pack.len() > self.max_pack {
                return Err(ProtoError::TooLarge);
            }
            return Ok(());
        }
        let head = self
            .head
            .ok_or_else(|| ProtoError::NoSuchBranch(self.branch.clone()))?;
        self.result = Some(Fetched::Pack {
            head,
            pack: core::mem::take(&mut self.pack),
        });
        self.state = State::Done;
        Ok(())
    }

    /// Ask for the branch head (or finish when we have it).
    fn want(&mut self) -> Result<(), ProtoError> {
        let head = self
            .head
            .ok_or_else(|| ProtoError::NoSuchBranch(self.branch.clone()))?;
        if self.haves.contains(&head) {
            self.result = Some(Fetched::UpToDate(head));
            self.state = State::Done;
            if !self.v2 {
                pktline::flush(&mut self.out); // v0: no wants, end the conversation
            }
            return Ok(());
        }
        if self.v2 {
            pktline::encode(&mut self.out, b"command=fetch\n");
            pktline::encode(&mut self.out, b"agent=gitns\n");
            self.out.extend_from_slice(b"0001");
            pktline::encode(&mut self.out, b"ofs-delta\n");
            pktline::encode(&mut self.out, format!("want {head}\n").as_bytes());
        } else {
            pktline::encode(
                &mut self.out,
                format!("want {head} side-band-64k ofs-delta agent=gitns\n").as_bytes(),
            );
        }
        if self.shallow {
            // gitprotocol-pack / gitprotocol-v2: a shallow client names its
            // shallow commits (as git's own `fetch --depth` does), then the
            // depth.
            for h in &self.haves {
                pktline::encode(&mut self.out, format!("shallow {h}\n").as_bytes());
            }
            pktline::encode(&mut self.out, b"deepen 1\n");
        }
        if !self.v2 {
            pktline::flush(&mut self.out);
        }
        for h in &self.haves {
            pktline::encode(&mut self.out, format!("have {h}\n").as_bytes());
        }
        pktline::encode(&mut self.out, b"done\n");
        if self.v2 {
            pktline::flush(&mut self.out);
        }
        self.state = State::Negotiate;
        Ok(())
    }
}
