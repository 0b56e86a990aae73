use std::sync::Arc;
use std::time::{Duration, Instant};

use linedrop_core::{
    CallHandle, CallId, CallIds, CallState, Cause, Engine, EngineConfig, Hangup, LineConfig,
    LoopbackProvider, Now, Origin, Privilege, RecordUpdate, WireEnd,
};
use linedrop_store::{Record, RecordWriter, SqliteStore, Store, WriterConfig};

use crate::common::{at, created_info, ended_info, temp_db, LINE};

#[test]
fn every_field_survives_created_then_ended() {
    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    let reader = SqliteStore::open(&path).expect("second connection");

    let created = RecordUpdate::Created(created_info(7, at(10)));
    let expected_open = Record::from_update(created.clone(), LINE);
    let seq = writer.send(created, LINE).expect("send");
    assert!(writer.wait_durable(seq, crate::common::DEADLINE));
    let open = reader.get(CallId(7)).expect("get").expect("row");
    assert_eq!(open, expected_open);
    assert!(!open.completed);

    let ended = RecordUpdate::Ended(ended_info(7, at(10)));
    let expected_done = Record::from_update(ended.clone(), LINE);
    writer.send(ended, LINE).expect("send");
    writer.close().expect("close");

    let reopened = SqliteStore::open(&path).expect("reopen");
    let done = reopened.get(CallId(7)).expect("get").expect("row");
    assert_eq!(done, expected_done);
    assert!(done.completed);
    assert_eq!(reopened.count(), Ok(1));
    assert_eq!(reopened.get(CallId(8)), Ok(None));
}

/// The line address is shared by the records of a line (one `Arc`, no copy per record); what
/// the store binds and reads back is the same text, and the record returns unchanged.
#[test]
fn records_sharing_a_line_address_round_trip_unchanged() {
    let (_dir, path) = temp_db();
    let mut store = SqliteStore::open(&path).expect("open");
    let line: Arc<str> = Arc::from("sip:shared@line.test;transport=udp");
    let open = Record::from_update(
        RecordUpdate::Created(created_info(1, at(1))),
        Arc::clone(&line),
    );
    let done = Record::from_update(RecordUpdate::Ended(ended_info(2, at(2))), Arc::clone(&line));
    assert!(
        Arc::ptr_eq(&open.line, &done.line),
        "one copy of the address"
    );
    store.apply(&[open.clone(), done.clone()]).expect("apply");

    let reader = SqliteStore::open(&path).expect("second connection");
    assert_eq!(reader.get(CallId(1)), Ok(Some(open)));
    let back = reader.get(CallId(2)).expect("get").expect("row");
    assert_eq!(back, done);
    assert_eq!(&*back.line, &*line);
}

#[test]
fn from_info_marks_only_idle_calls_completed() {
    assert!(!Record::from_info(&created_info(1, at(0)), LINE).completed);
    assert!(Record::from_info(&ended_info(1, at(0)), LINE).completed);
}

/// Engine-produced updates, so the store is checked against what the core really emits.
#[test]
fn engine_updates_round_trip() {
    const BOB: &str = "sip:bob@example.test";
    let ids = CallIds::default();
    let provider = LoopbackProvider::new(ids.clone(), Duration::ZERO);
    let mut engine = Engine::new(EngineConfig { call_ids: ids }, provider);
    let alice = engine.add_line(LineConfig::new(LINE)).expect("line");
    let bob = engine.add_line(LineConfig::new(BOB)).expect("line");
    let app = engine.open_app("test");
    engine
        .open_line(app, alice, Privilege::Owner)
        .expect("open");
    engine.open_line(app, bob, Privilege::Owner).expect("open");
    // A test's one clock read: its base instant; time then moves only by hand.
    let now = Now::new(Instant::now(), at(0));

    let out = engine.dial(now, app, alice, BOB).expect("dial");
    let inbound: CallHandle = engine
        .handles_of(app)
        .expect("handles")
        .into_iter()
        .map(|(h, _)| h)
        .find(|h| *h != out)
        .expect("the inbound leg");
    let answered = now.advance(Duration::from_millis(1500));
    engine.answer(answered, inbound).expect("answer");
    let later = answered.advance(Duration::from_secs(60));
    engine
        .drop_call(later, out, Hangup::default())
        .expect("drop");
    assert_eq!(engine.info(out).expect("info").state, CallState::Idle);

    let (_dir, path) = temp_db();
    let writer = RecordWriter::spawn(
        SqliteStore::open(&path).expect("open"),
        WriterConfig::default(),
    )
    .expect("spawn");
    let mut updates = 0;
    while let Some(update) = engine.poll_record() {
        let info = match &update {
            RecordUpdate::Created(info) | RecordUpdate::Ended(info) => info,
        };
        let address = engine.line_config(info.line).expect("line").address.clone();
        writer.send(update, address.as_str()).expect("send");
        updates += 1;
    }
    assert_eq!(updates, 4, "created and ended for both legs");
    writer.flush().expect("flush");

    let store = SqliteStore::open(&path).expect("second connection");
    for (handle, address, origin) in [(out, LINE, Origin::Local), (inbound, BOB, Origin::Remote)] {
        let info = engine.info(handle).expect("info");
        let record = store.get(info.id).expect("get").expect("row");
        assert_eq!(record, Record::from_info(&info, address));
        let end = record.termination.as_ref().expect("terminated");
        assert_eq!(
            (end.origin, end.cause, end.wire),
            (origin, Cause::Normal, WireEnd::Bye)
        );
        assert_eq!(record.talk_duration, Some(Duration::from_secs(60)));
        assert_eq!(record.entered.at(CallState::Idle), Some(later.wall));
    }
    assert_eq!(store.count(), Ok(2));
    assert_eq!(store.max_call_id().expect("max"), Some(2));
}
