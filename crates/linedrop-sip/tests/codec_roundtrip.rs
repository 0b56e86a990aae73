//! Property tests: every typed value prints to text that parses back to it, every message built
//! with the builders serialises to bytes that parse back to it, and no input makes the codec
//! panic.

#[path = "../../../fuzz/check.rs"]
mod check;

use std::net::{Ipv4Addr, Ipv6Addr};

use linedrop_sip::message::{
    parse_message, salvage_request_parts, CSeq, DisplayName, Framer, HeaderName, Host, Message,
    Method, NameAddr, Param, Params, Reason, Request, Response, SipUri, StatusCode, Transport, Uri,
    UriHeader, Via,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,9}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Update),
        token().prop_map(|t| t.parse().expect("a token is a method")),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{0,8}){0,2}".prop_map(Host::Domain),
        any::<[u8; 4]>().prop_map(|o| Host::Ipv4(Ipv4Addr::from(o))),
        any::<[u16; 8]>().prop_map(|s| Host::Ipv6(Ipv6Addr::from(s))),
    ]
}

fn escaped(chars: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => chars.prop_map(|s: String| s),
            1 => "%[0-9A-F]{2}".prop_map(|s: String| s),
        ],
        1..4,
    )
    .prop_map(|parts| parts.concat())
}

fn uri_params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        (
            escaped("[a-z][a-z0-9-]{0,5}"),
            prop::option::of(escaped("[A-Za-z0-9._~:/&+$\\[\\]-]{1,6}")),
        ),
        0..3,
    )
    .prop_map(|v| {
        Params(
            v.into_iter()
                .map(|(name, value)| Param::of(&name, value.as_deref()))
                .collect(),
        )
    })
}

fn sip_uri(with_headers: bool) -> impl Strategy<Value = SipUri> {
    let headers = if with_headers { 0..3usize } else { 0..1usize };
    (
        any::<bool>(),
        prop::option::of(escaped("[A-Za-z0-9._!~*'()&=+$,;?/-]{1,8}")),
        prop::option::of("[A-Za-z0-9&=+$,]{0,6}"),
        host(),
        prop::option::of(any::<u16>()),
        uri_params(),
        prop::collection::vec(
            (
                "[A-Za-z][A-Za-z0-9-]{0,6}",
                escaped("[A-Za-z0-9:?/+$-]{0,6}"),
            ),
            headers,
        ),
    )
        .prop_map(
            move |(secure, user, password, host, port, params, hdrs)| SipUri {
                secure,
                password: user.as_ref().and(password),
                user,
                host,
                port,
                params,
                headers: if with_headers {
                    hdrs.into_iter()
                        .map(|(name, value)| UriHeader { name, value })
                        .collect()
                } else {
                    Vec::new()
                },
            },
        )
}

fn uri(with_headers: bool) -> impl Strategy<Value = Uri> {
    prop_oneof![
        4 => sip_uri(with_headers).prop_map(Uri::from),
        1 => "(tel:\\+[0-9]{3,12}|urn:service:[a-z]{1,8}|http://[a-z]{1,8}/[a-z]{0,5})"
            .prop_map(|s| Uri::parse(&s).expect("valid absolute URI")),
    ]
}

fn header_params() -> impl Strategy<Value = Params> {
    prop::collection::vec(
        (
            token(),
            prop::option::of(prop_oneof![
                token(),
                "\"[A-Za-z0-9 ,;:<>@=/]{0,8}\"".prop_map(|s: String| s),
            ]),
        ),
        0..3,
    )
    .prop_map(|v| {
        Params(
            v.into_iter()
                .map(|(name, value)| Param::of(&name, value.as_deref()))
                .collect(),
        )
    })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        prop::option::of(
            "[A-Za-z0-9 ,.\"\\\\<>@;:\u{e9}\u{4e2d}]{1,10}".prop_map(DisplayName::new),
        ),
        uri(true),
        header_params(),
    )
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name,
            uri,
            params,
        })
}

fn transport() -> impl Strategy<Value = Transport> {
    prop_oneof![
        Just(Transport::Udp),
        Just(Transport::Tcp),
        Just(Transport::Tls),
        Just(Transport::Ws),
        "X[A-Z]{1,5}".prop_map(Transport::Other),
    ]
}

fn via() -> impl Strategy<Value = Via> {
    (
        transport(),
        host(),
        prop::option::of(any::<u16>()),
        "[A-Za-z0-9]{1,12}",
        header_params(),
    )
        .prop_map(|(t, h, port, branch, extra)| {
            let mut v = Via::new(t, h, port, &format!("z9hG4bK{branch}"));
            v.params.0.extend(extra.0);
            v
        })
}

fn reason() -> impl Strategy<Value = Reason> {
    (
        prop_oneof![Just("SIP".to_owned()), Just("Q.850".to_owned()), token()],
        prop::option::of(any::<u16>()),
        prop::option::of("[A-Za-z0-9 \"\\\\,;<>]{0,12}"),
        header_params(),
    )
        .prop_map(|(protocol, cause, text, mut params)| {
            params.remove("cause");
            params.remove("text");
            Reason {
                protocol,
                cause,
                text,
                params,
            }
        })
}

fn call_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9.!%*_+`'~()<>:/?{}-]{1,16}(@[A-Za-z0-9.-]{1,12})?"
}

fn extra_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("X-[A-Za-z0-9-]{1,8}", "[ -~\u{e9}]{0,20}"), 0..4)
}

prop_compose! {
    fn request()(
        method in method(),
        ruri in uri(false),
        vias in prop::collection::vec(via(), 1..4),
        from in name_addr(),
        to in name_addr(),
        call_id in call_id(),
        seq in 0..=CSeq::MAX_SEQ,
        max_forwards in prop::option::of(any::<u8>()),
        contact in prop::option::of(name_addr()),
        extra in extra_headers(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) -> Request {
        let mut r = Request::new(method.clone(), ruri);
        for v in &vias {
            r.headers_mut().push(HeaderName::Via, v);
        }
        r = r
            .with_header(HeaderName::From, &from)
            .with_header(HeaderName::To, &to)
            .with_header(HeaderName::CallId, &call_id)
            .with_header(HeaderName::CSeq, CSeq::new(seq, method));
        if let Some(mf) = max_forwards {
            r.headers_mut().push(HeaderName::MaxForwards, mf);
        }
        if let Some(c) = contact {
            r.headers_mut().push(HeaderName::Contact, c);
        }
        for (n, v) in &extra {
            r.headers_mut().push_raw(n, v).expect("token name");
        }
        r.set_body(body);
        r
    }
}

prop_compose! {
    fn response()(
        req in request(),
        code in 100u16..=699,
        reason in prop::option::of("[A-Za-z0-9 \u{e9}-]{0,16}"),
        tag in "[A-Za-z0-9]{1,8}",
        reasons in prop::collection::vec(reason(), 0..3),
        body in prop::collection::vec(any::<u8>(), 0..32),
    ) -> Response {
        let status = StatusCode::new(code).expect("in range");
        let mut r = Response::for_request(&req, status);
        if let Some(text) = reason {
            r.set_reason(text);
        }
        let mut to = req.headers().to().expect("built To");
        to.set_tag(&tag);
        r.headers_mut().set(HeaderName::To, to);
        for x in &reasons {
            r.headers_mut().push(HeaderName::Reason, x);
        }
        r.set_body(body);
        r
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn uris_round_trip(u in uri(true)) {
        prop_assert_eq!(Uri::parse(&u.to_string()), Ok(u));
    }

    #[test]
    fn name_addrs_round_trip(na in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&na.to_string()), Ok(na));
    }

    #[test]
    fn vias_round_trip(v in via()) {
        prop_assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn reasons_round_trip(r in reason()) {
        prop_assert_eq!(Reason::parse(&r.to_string()), Ok(r));
    }

    #[test]
    fn requests_round_trip(r in request()) {
        let wire = r.to_bytes();
        prop_assert_eq!(parse_message(&wire), Ok(Message::Request(r.clone())));
        // And the typed view reads back what was written.
        prop_assert!(r.headers().via().is_ok());
        prop_assert_eq!(r.headers().cseq().map(|c| c.method), Ok(r.method().clone()));
    }

    #[test]
    fn responses_round_trip(r in response()) {
        prop_assert_eq!(parse_message(&r.to_bytes()), Ok(Message::Response(r.clone())));
        prop_assert!(r.headers().to().is_ok_and(|t| t.tag().is_some()));
    }

    #[test]
    fn streams_frame_back_into_the_same_messages(
        reqs in prop::collection::vec(request(), 1..4),
        chunk in 1usize..64,
    ) {
        let mut wire = Vec::new();
        for r in &reqs {
            wire.extend_from_slice(b"\r\n");
            r.write_to(&mut wire);
        }
        let mut framer = Framer::new();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            framer.push(piece);
            while let Some(m) = framer.next_message().expect("valid stream") {
                got.push(m);
            }
        }
        let want: Vec<Message> = reqs.into_iter().map(Message::Request).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        check::check(&data);
    }

    #[test]
    fn damaged_messages_never_panic(
        r in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut wire = r.to_bytes();
        for (at, byte, op) in edits {
            if wire.is_empty() {
                break;
            }
            let i = at.index(wire.len());
            match op {
                0 => wire[i] = byte,
                1 => wire.insert(i, byte),
                _ => { wire.remove(i); }
            }
        }
        check::check(&wire);
        let _ = salvage_request_parts(&wire);
    }
}
