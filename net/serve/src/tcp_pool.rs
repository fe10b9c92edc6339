//! Who may hold a DNS-over-TCP connection: the admission rules of the
//! pool, apart from sockets so they can be tested with explicit time.
//!
//! RFC 7766 6.2.2 asks servers to limit connections per client and in
//! total, and to close idle ones first under pressure rather than refuse
//! new clients; 6.2.3 measures idleness from the last complete query.

use gitns_net::smoltcp::wire::IpAddress;

/// The limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Connections in all (`--tcp-clients`).
    pub clients: usize,
    /// Connections from one source address (`--tcp-per-source`).
    pub per_source: usize,
    /// Connections above `clients`, taken only when every connection is
    /// busy; such a newcomer may start a zone transfer and is closed after
    /// its first answer otherwise (transfers keep a share of their own).
    pub transfer_reserve: usize,
}

/// What the pool needs to know of an open connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seat {
    pub source: IpAddress,
    /// Monotonic ns of its last complete query (or of its accept).
    pub last_query_ns: u64,
    /// Nothing to answer or send: it may be closed without losing work.
    pub idle: bool,
}

/// The verdict on a new connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admit {
    /// Room for it.
    Yes,
    /// Room once the seat at this index (an idle connection, the oldest of
    /// its source or of the pool) is closed.
    Evict(usize),
    /// Only in the transfer reserve (see [`Limits::transfer_reserve`]).
    Probation,
    /// No room: every connection it could replace is busy.
    No,
}

/// Decide on a newcomer from `source`, given the open `seats` (not
/// counting it).
pub fn admit(limits: &Limits, seats: &[Seat], source: IpAddress) -> Admit {
    let same = seats.iter().filter(|s| s.source == source).count();
    if same >= limits.per_source {
        return oldest_idle(seats, |s| s.source == source).map_or(Admit::No, Admit::Evict);
    }
    if seats.len() < limits.clients {
        return Admit::Yes;
    }
    match oldest_idle(seats, |_| true) {
        Some(i) => Admit::Evict(i),
        None if seats.len() < limits.clients + limits.transfer_reserve => Admit::Probation,
        None => Admit::No,
    }
}

/// Index of the idle seat with the oldest last query among those `pick`
/// selects.
fn oldest_idle(seats: &[Seat], pick: impl Fn(&Seat) -> bool) -> Option<usize> {
    seats
        .iter()
        .enumerate()
        .filter(|(_, s)| s.idle && pick(s))
        .min_by_key(|(_, s)| s.last_query_ns)
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use gitns_net::smoltcp::wire::Ipv4Address;

    fn ip(n: u8) -> IpAddress {
        IpAddress::Ipv4(Ipv4Address::new(10, 0, 0, n))
    }

    fn seat(n: u8, last: u64, idle: bool) -> Seat {
        Seat {
            source: ip(n),
            last_query_ns: last,
            idle,
        }
    }

    const L: Limits = Limits {
        clients: 4,
        per_source: 2,
        transfer_reserve: 1,
    };

    #[test]
    fn room_is_taken() {
        assert_eq!(admit(&L, &[], ip(1)), Admit::Yes);
        assert_eq!(admit(&L, &[seat(1, 5, true)], ip(1)), Admit::Yes);
    }

    #[test]
    fn per_source_cap_closes_that_sources_oldest_idle() {
        let seats = [seat(1, 30, true), seat(2, 1, true), seat(1, 20, true)];
        assert_eq!(admit(&L, &seats, ip(1)), Admit::Evict(2));
        // Both of its connections busy: refused, other sources untouched.
        let seats = [seat(1, 30, false), seat(2, 1, true), seat(1, 20, false)];
        assert_eq!(admit(&L, &seats, ip(1)), Admit::No);
        assert_eq!(admit(&L, &seats, ip(3)), Admit::Yes);
    }

    #[test]
    fn full_pool_closes_the_oldest_idle_never_a_busy_one() {
        let seats = [
            seat(1, 10, false),
            seat(2, 40, true),
            seat(3, 5, false),
            seat(4, 30, true),
        ];
        assert_eq!(admit(&L, &seats, ip(5)), Admit::Evict(3));
    }

    #[test]
    fn all_busy_leaves_the_transfer_reserve_then_refuses() {
        let mut seats = vec![
            seat(1, 10, false),
            seat(2, 40, false),
            seat(3, 5, false),
            seat(4, 30, false),
        ];
        assert_eq!(admit(&L, &seats, ip(5)), Admit::Probation);
        seats.push(seat(5, 50, false));
        assert_eq!(admit(&L, &seats, ip(6)), Admit::No);
        // Idle again: the oldest idle goes, even a reserve one.
        seats[4].idle = true;
        assert_eq!(admit(&L, &seats, ip(6)), Admit::Evict(4));
    }
}
