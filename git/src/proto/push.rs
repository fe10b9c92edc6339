//! Pushing one branch through receive-pack: read the advertisement, send
//! `old new ref` with report-status and side-band-64k, then the pack; read
//! `unpack ok` and `ok`/`ng` for the ref. A rejection is an error value.

use super::sideband::demux;
use super::{parse_ref_line, ProtoError};
use crate::oid::Oid;
use crate::pktline::{self, Pkt};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// How a push ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    Ok,
    /// The server refused the ref update (e.g. non-fast-forward: someone
    /// pushed first). The caller fetches, re-applies and tries again.
    Rejected(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Advert,
    Report,
    Done,
}

/// The push state machine.
pub struct Push {
    branch: String,
    old: Oid,
    new: Oid,
    pack: Vec<u8>,
    state: State,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    report: Vec<u8>,
    remote_head: Option<Oid>,
    result: Option<Pushed>,
}

impl Push {
    /// Move `branch` from `old` (the head we built on) to `new`, sending `pack`.
    pub fn new(branch: &str, old: Oid, new: Oid, pack: Vec<u8>) -> Push {
        Push {
            branch: format!("refs/heads/{branch}"),
            old,
            new,
            pack,
            state: State::Advert,
            inbuf: Vec::new(),
            out: Vec::new(),
            report: Vec::new(),
            remote_head: None,
            result: None,
        }
    }

    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.out)
    }

    pub fn result(&self) -> Option<&Pushed> {
        self.result.as_ref()
    }

    /// The head the server advertised for the branch.
    pub fn remote_head(&self) -> Option<Oid> {
        self.remote_head
    }

    pub fn input(&mut self, data: &[u8]) -> Result<(), ProtoError> {
        let mut buf = core::mem::take(&mut self.inbuf);
        let r = super::drain_pkts(&mut buf, data, |pkt| {
            let pkt = match pkt {
                Pkt::Data(d) => Some(d.to_vec()),
                _ => None,
            };
            self.packet(pkt)?;
            Ok(self.state == State::Done)
        });
        self.inbuf = buf;
        r
    }

    fn packet(&mut self, pkt: Option<Vec<u8>>) -> Result<(), ProtoError> {
        match (self.state, pkt) {
            (State::Advert, Some(d)) => {
                if let Some((id, name, _)) = parse_ref_line(&d) {
                    if name == self.branch {
                        self.remote_head = Some(id);
                    }
                }
                Ok(())
            }
            (State::Advert, None) => {
                // Someone else moved the branch: no point sending the pack.
                if self.remote_head.unwrap_or(Oid::ZERO) != self.old {
                    self.result = Some(Pushed::Rejected(String::from(
                        "the branch moved on the remote (fetch first)",
                    )));
                    pktline::flush(&mut self.out);
                    self.state = State::Done;
                    return Ok(());
                }
                pktline::encode(
                    &mut self.out,
                    format!(
                        "{} {} {}\0report-status side-band-64k agent=gitns\n",
                        self.old, self.new, self.branch
                    )
                    .as_bytes(),
                );
                pktline::flush(&mut self.out);
                self.out.extend_from_slice(&core::mem::take(&mut self.pack));
                self.state = State::Report;
                Ok(())
            }
            (State::Report, Some(d)) => demux(&d, &mut self.report),
            (State::Report, None) => {
                self.result = Some(self.read_report()?);
                self.state = State::Done;
                Ok(())
            }
            (State::Done, _) => Ok(()),
        }
    }

    /// The report-status inside the side-band data.
    fn read_report(&mut self) -> Result<Pushed, ProtoError> {
        let mut rest = &self.report[..];
        let mut unpack_ok = false;
        while let Some((Pkt::Data(d), n)) =
            pktline::decode(rest).map_err(|_| ProtoError::Malformed("bad report".into()))?
        {
            rest = &rest[n..];
            let line = String::from_utf8_lossy(d);
            let line = line.trim_end();
            if line == "unpack ok" {
                unpack_ok = true;
            } else if let Some(err) = line.strip_prefix("unpack ") {
                return Err(ProtoError::Remote(format!("unpack failed: {err}")));
            } else if line.strip_prefix("ok ") == Some(self.branch.as_str()) {
                return if unpack_ok {
                    Ok(Pushed::Ok)
                } else {
                    Err(ProtoError::Malformed("ok before unpack".into()))
                };
            } else if let Some(ng) = line.strip_prefix("ng ") {
                return Ok(Pushed::Rejected(String::from(
                    ng.strip_prefix(self.branch.as_str()).unwrap_or(ng).trim(),
                )));
            }
        }
        Err(ProtoError::Malformed("no status for the ref".into()))
    }
}
