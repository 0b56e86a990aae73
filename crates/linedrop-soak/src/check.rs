//! The judge: what each call's two endings, live and recorded, say against its plan.

use linedrop_core::{Cause, Origin};
use linedrop_store::{SqliteStore, Store};

use crate::{Plan, Scenario};

/// How a call's pair of endings compares with its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Expected,
    ExpiredEarly,
    Mismatch,
}

fn judge(p: &Plan, got: [Option<(Origin, Cause)>; 2]) -> Verdict {
    let exp = p.scenario.expected();
    if got == [Some(exp[0]), Some(exp[1])] {
        return Verdict::Expected;
    }
    let expired = (Origin::Policy, Cause::SessionExpired);
    let bye = (Origin::Remote, Cause::Normal);
    let connected_kind = matches!(
        p.scenario,
        Scenario::CallerHangsUp | Scenario::CalleeHangsUp | Scenario::VanishWhileConnected
    );
    let pair_fits = matches!(got, [Some(a), Some(b)]
        if (a, b) == (expired, bye) || (a, b) == (bye, expired) || (a, b) == (expired, expired));
    if connected_kind && p.connected == [true, true] && !p.fired && pair_fits {
        Verdict::ExpiredEarly
    } else {
        Verdict::Mismatch
    }
}

/// Every call ended as planned on both sides (or by a session timer the loss made expire
/// early), and has its completed record on both sides saying the same. Returns how many
/// expired early.
pub(crate) fn check_records(
    store: &SqliteStore,
    plans: &[Plan],
    mismatches: &mut Vec<String>,
) -> Result<usize, String> {
    let mut early = 0;
    for (i, p) in plans.iter().enumerate() {
        let mut recorded = [None, None];
        for (side, id) in p.ids.iter().enumerate() {
            let Some(id) = *id else {
                mismatches.push(format!("call {i} side {side}: no call id"));
                continue;
            };
            let rec = store.get(id).map_err(|e| e.to_string())?;
            recorded[side] = rec
                .as_ref()
                .filter(|r| r.completed)
                .and_then(|r| r.termination.as_ref())
                .map(|t| (t.origin, t.cause));
        }
        let verdict = judge(p, p.ended);
        if verdict == Verdict::ExpiredEarly {
            early += 1;
        }
        if verdict == Verdict::Mismatch || recorded != p.ended {
            mismatches.push(format!(
                "call {i} ({}): ended {:?}, recorded {recorded:?}, expected {:?}",
                p.scenario.name(),
                p.ended,
                p.scenario.expected()
            ));
        }
    }
    Ok(early)
}
