//! The checks of an attestation, named, in the order they run: what the
//! evidence inspector shows. The worker passes `()` and records nothing; the
//! verdict comes from the same code either way.

use super::AttestationRefusal;

/// Receives each check as it runs, with its outcome.
pub trait Trace {
    /// One check: its name (one of the format's `CHECKS`) and outcome.
    fn record(&mut self, check: &'static str, outcome: Result<(), AttestationRefusal>);
}

/// Records nothing.
impl Trace for () {
    fn record(&mut self, _: &'static str, _: Result<(), AttestationRefusal>) {}
}

/// Every check in order.
impl Trace for Vec<(&'static str, Result<(), AttestationRefusal>)> {
    fn record(&mut self, check: &'static str, outcome: Result<(), AttestationRefusal>) {
        self.push((check, outcome));
    }
}

/// Records `result` as the outcome of `check` and hands it back.
pub(crate) fn step<T>(
    trace: &mut dyn Trace,
    check: &'static str,
    result: Result<T, AttestationRefusal>,
) -> Result<T, AttestationRefusal> {
    trace.record(check, result.as_ref().map(|_| ()).map_err(|e| *e));
    result
}

/// `Ok(())` when `ok`, else `Err(refusal)`.
pub(crate) fn ensure(ok: bool, refusal: AttestationRefusal) -> Result<(), AttestationRefusal> {
    if ok { Ok(()) } else { Err(refusal) }
}
