//! The checks of a verification, named, in the order they run: what the
//! evidence inspector shows. Production passes `()` and records nothing; the
//! verdict comes from the same code either way.

use crate::attestation::AttestationRefusal;
use crate::{Denial, ValidationError};

/// Receives each check as it runs: its name and, when it failed, the code.
pub trait Trace {
    /// One check (one of the verification's `CHECKS`) and its failure code, if any.
    fn record(&mut self, check: &'static str, failed: Option<&'static str>);
}

/// Records nothing.
impl Trace for () {
    fn record(&mut self, _: &'static str, _: Option<&'static str>) {}
}

/// Every check in order.
impl Trace for Vec<(&'static str, Option<&'static str>)> {
    fn record(&mut self, check: &'static str, failed: Option<&'static str>) {
        self.push((check, failed));
    }
}

/// A refusal with a stable code.
pub trait Coded {
    /// The stable code (`attestation_expired`, `grant_expired`, …).
    fn code(&self) -> &'static str;
}

impl Coded for AttestationRefusal {
    fn code(&self) -> &'static str {
        AttestationRefusal::code(self)
    }
}

impl Coded for Denial {
    fn code(&self) -> &'static str {
        Denial::code(self)
    }
}

impl Coded for ValidationError {
    fn code(&self) -> &'static str {
        ValidationError::code(self)
    }
}

/// Records `result` as the outcome of `check` and hands it back.
pub(crate) fn step<T, E: Coded>(
    trace: &mut dyn Trace,
    check: &'static str,
    result: Result<T, E>,
) -> Result<T, E> {
    trace.record(check, result.as_ref().err().map(Coded::code));
    result
}

/// `Ok(())` when `ok`, else `Err(refusal)`.
pub(crate) fn ensure<E>(ok: bool, refusal: E) -> Result<(), E> {
    if ok { Ok(()) } else { Err(refusal) }
}
