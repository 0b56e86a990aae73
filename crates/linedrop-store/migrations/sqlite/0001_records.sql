-- Version 1: one row per call, written at creation and completed when the call is idle.
--
-- Times are integer microseconds since the Unix epoch; durations are integer microseconds.
-- Enum columns hold the core's `as_str` names. A NULL state-entry time means the call never
-- entered that state; NULL termination columns mean the call had no termination yet.

CREATE TABLE records (
    id              INTEGER PRIMARY KEY,         -- the global CallId
    direction       TEXT    NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    line            TEXT    NOT NULL,            -- the line's address
    line_key        INTEGER NOT NULL,            -- LineId::to_bits, valid for one process run
    local           TEXT    NOT NULL,
    remote          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    dialing_at      INTEGER,
    proceeding_at   INTEGER,
    ringback_at     INTEGER,
    offering_at     INTEGER,
    accepted_at     INTEGER,
    connected_at    INTEGER,
    disconnected_at INTEGER,
    idle_at         INTEGER,
    setup_us        INTEGER,
    talk_us         INTEGER,
    origin          TEXT,
    cause           TEXT,
    wire            TEXT,
    sip_status      INTEGER,
    q850            INTEGER,
    term_text       TEXT,
    term_at         INTEGER,
    late_causes     INTEGER NOT NULL DEFAULT 0,
    call_ref        TEXT,
    local_tag       TEXT,
    remote_tag      TEXT,
    retransmissions INTEGER NOT NULL DEFAULT 0,
    holders         TEXT    NOT NULL DEFAULT '', -- "app_bits:privilege" joined by ','
    completed       INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1))
);

-- Time-range queries and retention.
CREATE INDEX records_created_at ON records (created_at);
-- Restart recovery scans only the rows still open, which are few.
CREATE INDEX records_open ON records (id) WHERE completed = 0;

-- The highest call id ever written, kept apart from the rows so that purging old records
-- never lets a restarted daemon hand out an id that a purged record had.
CREATE TABLE id_high_water (
    only   INTEGER PRIMARY KEY CHECK (only = 0),
    max_id INTEGER
);
INSERT INTO id_high_water (only, max_id) VALUES (0, NULL);
