//! Bench peer: the smallest answering UA on rsipstack, modelled on rsipstack's own
//! `bench_ua` server mode. INVITE -> 200 OK with a PCMU SDP answer; BYE -> 200 OK.
//! Usage: rsip-uas PORT   (binds 127.0.0.1:PORT, UDP)

use rsipstack::dialog::dialog::{Dialog, DialogState, DialogStateReceiver};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::DialogId;
use rsipstack::transport::{udp::UdpConnection, TransportLayer};
use rsipstack::{EndpointBuilder, Error, Result};
use std::sync::Arc;
use tokio::select;
use tokio_util::sync::CancellationToken;

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

async fn states(layer: Arc<DialogLayer>, mut rx: DialogStateReceiver) {
    while let Some(state) = rx.recv().await {
        match state {
            DialogState::Calling(id) => {
                if let Some(Dialog::Invite(d)) = layer.get_dialog(&id) {
                    let ct = vec![rsipstack::sip::Header::ContentType(
                        "application/sdp".into(),
                    )];
                    d.accept(Some(ct), Some(SDP.as_bytes().to_vec())).ok();
                }
            }
            DialogState::Terminated(id, _) => layer.remove_dialog(&id),
            _ => {}
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(5090);
    let token = CancellationToken::new();
    let transport = TransportLayer::new(token.clone());
    let addr = format!("127.0.0.1:{port}");
    let conn =
        UdpConnection::create_connection(addr.parse()?, None, Some(token.child_token())).await?;
    transport.add_transport(conn.into());
    let endpoint = EndpointBuilder::new()
        .with_cancel_token(token.clone())
        .with_transport_layer(transport)
        .build();
    let first = endpoint
        .get_addrs()
        .first()
        .ok_or(Error::Error("no address".into()))?
        .clone();
    let contact = rsipstack::sip::Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        auth: None,
        host_with_port: first.addr,
        params: vec![],
        headers: vec![],
    };
    let mut incoming = endpoint.incoming_transactions()?;
    let layer = Arc::new(DialogLayer::new(endpoint.inner.clone()));
    let (state_tx, state_rx) = layer.new_dialog_state_channel();
    let server_layer = layer.clone();
    let server = async move {
        while let Some(mut tx) = incoming.recv().await {
            match tx.original.method {
                rsipstack::sip::Method::Invite => {
                    if let Ok(mut d) = server_layer.get_or_create_server_invite(
                        &tx,
                        state_tx.clone(),
                        None,
                        Some(contact.clone()),
                    ) {
                        tokio::spawn(async move {
                            d.handle(&mut tx).await.ok();
                        });
                    }
                }
                rsipstack::sip::Method::Bye => {
                    if let Ok(id) = DialogId::try_from(&tx) {
                        tx.reply(rsipstack::sip::StatusCode::OK).await.ok();
                        server_layer.remove_dialog(&id);
                    }
                }
                _ => {}
            }
        }
    };
    eprintln!("rsip-uas listening on {addr}");
    select! {
        _ = endpoint.serve() => {}
        _ = server => {}
        _ = states(layer.clone(), state_rx) => {}
    }
    Ok(())
}
