//! How a user agent is set up.

use std::net::SocketAddr;
use std::time::Duration;

use super::negotiate::LineOptions;
use crate::transaction::TimerConfig;

/// The user agent's configuration.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// T1, T2, T4.
    pub timers: TimerConfig,
    /// Our UDP address as the peer must see it (Via sent-by, Contact): the bound socket's
    /// address.
    pub udp_addr: SocketAddr,
    /// Our TCP listening address, if TCP is enabled.
    pub tcp_addr: Option<SocketAddr>,
    /// The `User-Agent` and `Server` header value.
    pub user_agent: String,
    /// Messages larger than this are refused (`513` for a request).
    pub max_message_size: usize,
    /// Seed for Call-IDs, tags and branches: the same seed replays the same run.
    pub rng_seed: u64,
    /// Answer inbound calls with `180 Ringing` at once (before the app accepts), as most
    /// phones do, instead of `100 Trying`; `false` waits for the app's `accept`. A call
    /// answered or refused at once (a line that answers or rejects by itself) gets its
    /// final response alone: there is nobody to ring for.
    pub auto_ringing: bool,
    /// The RTP port advertised in SDP (no media is sent yet).
    pub media_port: u16,
    /// How long a tombstone of an ended dialog answers late requests (a retransmitted BYE
    /// gets 200, anything else 481). Default: 64·T1, the Timer J window.
    pub tombstone_ttl: Option<Duration>,
    /// Session timers and keepalives of lines given no options of their own
    /// ([`super::SipProvider::set_line_options`]).
    pub line_defaults: LineOptions,
}

impl SipConfig {
    /// Defaults for a user agent bound to `udp_addr`.
    pub fn new(udp_addr: SocketAddr) -> Self {
        Self {
            timers: TimerConfig::default(),
            udp_addr,
            tcp_addr: None,
            user_agent: concat!("linedrop/", env!("CARGO_PKG_VERSION")).to_string(),
            max_message_size: 64 * 1024,
            rng_seed: 0x6c69_6e65_6472_6f70,
            auto_ringing: false,
            media_port: 4000,
            tombstone_ttl: None,
            line_defaults: LineOptions::default(),
        }
    }

    /// The tombstone lifetime in force.
    pub fn tombstone_ttl(&self) -> Duration {
        self.tombstone_ttl.unwrap_or(self.timers.t1x64())
    }

    /// The longest a teardown can take: waiting for a provisional before CANCEL (64·T1),
    /// the cancelled INVITE's own end (64·T1), a BYE after a 2xx that crossed the CANCEL or
    /// after an ACK that never came (64·T1), and slack for one more T4.
    pub fn teardown_bound(&self) -> Duration {
        self.timers.t1x64() * 3 + self.timers.t4
    }
}
