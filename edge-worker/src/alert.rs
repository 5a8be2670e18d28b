//! Security alerts texted to a binding's number. The number is unsealed only
//! here. Alerts are sent after the state they report has been written; a
//! delivery failure is audited, never returned, so the caller still sees the
//! decision that caused the alert.

use simbind_core::Denial;
use simbind_core::binding::BindingRecord;

use crate::App;
use crate::sms::{self, SmsKind};

/// Why the owner is told.
#[derive(Clone, Copy, Debug)]
pub enum Alert {
    /// The bound chip signed a request that was refused.
    Refused { denial: Denial, suspended: bool },
    /// Someone proved the number (or claimed the chip) and tried to bind it
    /// elsewhere: the SIM-swap signature.
    TakeoverAttempt(Denial),
    /// The bound chip moved the binding to a new SIM.
    Rebound,
}

impl Alert {
    fn text(self) -> String {
        let reason = match self {
            Alert::Refused {
                denial: Denial::SimChanged,
                ..
            } => "a different SIM card was used with your registered phone",
            Alert::Refused {
                denial: Denial::NumberChanged,
                ..
            } => "your SIM now reports a different phone number",
            Alert::Refused {
                denial: Denial::CounterReplayed,
                ..
            } => "a copy of your phone's secure key may be in use",
            Alert::Refused {
                denial: Denial::CarrierSimSwapped,
                ..
            } => "your mobile operator reports the SIM for this number was replaced",
            Alert::Refused {
                denial: Denial::CarrierDeviceSwapped,
                ..
            } => "your mobile operator reports this number is now used in another phone",
            Alert::Refused { .. } => "a secure-channel check from your phone failed",
            Alert::TakeoverAttempt(Denial::ChipAlreadyBound) => {
                "another number tried to bind your registered phone's chip"
            }
            Alert::TakeoverAttempt(_) => {
                "someone proved this number with a code and tried to bind it to another phone"
            }
            Alert::Rebound => "your number was re-bound to a new SIM on your registered phone",
        };
        let tail = match self {
            // Re-registering is refused while the carrier's swap is recent
            // (`carrier_sim_swapped`): the way out is waiting, or the provider.
            Alert::Refused {
                denial: Denial::CarrierSimSwapped | Denial::CarrierDeviceSwapped,
                suspended: true,
            } => {
                " Your binding is now suspended; it can be re-registered once the change is older than your provider's waiting period, or your provider can restore it sooner."
            }
            Alert::Refused {
                suspended: true, ..
            } => {
                " Your binding is now suspended; re-register with a code sent to this number to restore it."
            }
            _ => "",
        };
        format!("SimBind alert: {reason}.{tail} If this was not you, contact your provider now.")
    }

    fn code(self) -> &'static str {
        match self {
            Alert::Refused { denial, .. } | Alert::TakeoverAttempt(denial) => denial.code(),
            Alert::Rebound => "rebound",
        }
    }
}

/// Texts the number of `binding`; returns the audit event and code that
/// record the outcome (`alert_sent` or `alert_failed`).
pub async fn send(
    app: &App,
    binding: &BindingRecord,
    alert: Alert,
) -> (&'static str, &'static str) {
    match binding.contact_number(&app.cfg.pepper) {
        None => ("alert_failed", "no_contact"),
        Some(number) => match sms::send(app, &number, SmsKind::Alert, &alert.text()).await {
            Ok(()) => ("alert_sent", alert.code()),
            Err(_) => ("alert_failed", "sms_delivery_failed"),
        },
    }
}
