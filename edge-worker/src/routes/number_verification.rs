//! The `camara_nv` number proof's two routes: the authorization URL for one
//! bind challenge (the phone opens it over mobile data), and the callback
//! the operator redirects to (`redirect_uri`), where the service redeems the
//! code and asks the operator itself. The number's object keeps what was
//! asked and answered; the bind then checks it.

use simbind_core::api::{
    CarrierAuthorizationRequest, CarrierAuthorizationResponse, NumberVerifiedResponse,
};
use simbind_core::camara_nv::{self, NvRefusal};
use simbind_core::codec::unb64;
use simbind_core::identifiers::PhoneNumber;
use simbind_core::transcript::Ceremony;
use simbind_core::{Denial, ValidationError, challenge};
use worker::Response;

use super::registration::number_of;
use super::request_limit;
use crate::App;
use crate::http::{Incoming, RequestUrl, json, read_json};
use crate::objects::{self, Answer, NUMBERS, NvAnswerOp, NvAnswered, NvAskOp, NvRecordOp};
use crate::problem::ApiError;

fn configured(app: &App) -> Result<&crate::number_verification::NvConfig, ApiError> {
    app.cfg
        .camara_nv
        .as_ref()
        .ok_or_else(|| ValidationError::ProofNotAllowed.into())
}

/// `POST /v1/registrations/{id}/carrier-authorization` `{challenge}`: the
/// authorization URL for this bind challenge (a fresh, authentic bind
/// challenge of this registration).
pub async fn authorize(app: &App, req: &mut Incoming, id: &str) -> Result<Response, ApiError> {
    let body: CarrierAuthorizationRequest = read_json(req).await?;
    let config = configured(app)?;
    let raw = unb64(&body.challenge, "challenge")?;
    let number = number_of(app, id)?;
    request_limit::check(app, req, id).await?;
    challenge::verify(&app.cfg.keys, &raw, Ceremony::Bind, id, app.now)?;
    let ask = NvAskOp {
        registration_id: id.into(),
        challenge: body.challenge.clone(),
    };
    if let Answer::Refused(r) =
        objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &number, "nv_ask", &ask).await?
    {
        return Ok(r);
    }
    let origin = RequestUrl::of(req).origin().to_owned();
    let url = crate::number_verification::authorization_url(app, config, id, &raw, &origin)
        .await
        .map_err(Denial::from)?;
    json(
        &CarrierAuthorizationResponse {
            authorization_url: url,
        },
        200,
    )
}

/// `GET /v1/carrier/number-verification/callback?code&state` (or `?error&state`):
/// the operator's redirect. The `state` names the registration; its object
/// takes it once; the code is redeemed and `/verify` asked by the service,
/// and the answer recorded for the bind.
pub async fn callback(app: &App, req: &Incoming) -> Result<Response, ApiError> {
    let config = configured(app)?;
    let url = RequestUrl::of(req);
    let (mut code, mut state, mut error) = (None, None, false);
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "code" if value.len() <= 2048 => code = Some(value.into_owned()),
            "state" if value.len() <= 256 => state = Some(value.into_owned()),
            "error" => error = true,
            _ => {}
        }
    }
    let state = state.ok_or(Denial::from(NvRefusal::StateInvalid))?;
    let id = camara_nv::registration_of_state(&state)
        .ok_or(Denial::from(NvRefusal::StateInvalid))?
        .to_owned();
    let number_object = number_of(app, &id).map_err(|_| Denial::from(NvRefusal::StateInvalid))?;
    request_limit::check(app, req, &id).await?;
    let code_key = code
        .as_deref()
        .map(|c| camara_nv::code_key(&app.cfg.pepper, c));
    let answer = NvAnswerOp {
        registration_id: id.clone(),
        state,
        code_key,
    };
    let answered: NvAnswered =
        match objects::ask(&app.env, NUMBERS, &number_object, "nv_answer", &answer).await? {
            Answer::Ok(answered) => answered,
            Answer::Refused(r) => return Ok(r),
        };
    // An error redirect (or none of the code) came through the phone: it
    // proves nothing and allows no fallback.
    let refusal = match (code, error) {
        (Some(code), false) => {
            let challenge = unb64(&answered.challenge, "challenge")?;
            let number = PhoneNumber::parse(&answered.number)?;
            let origin = url.origin().to_owned();
            crate::number_verification::settle(
                app, config, &id, &challenge, &code, &number, &origin,
            )
            .await
            .unwrap_or_else(Some)
        }
        _ => Some(NvRefusal::AuthorizationDenied),
    };
    let record = NvRecordOp {
        registration_id: id,
        refusal,
    };
    objects::ask::<_, serde_json::Value>(&app.env, NUMBERS, &number_object, "nv_record", &record)
        .await?
        .or_refusal()
        .map_err(|_| ApiError::Platform("nv record refused".into()))?;
    match refusal {
        None => json(
            &NumberVerifiedResponse {
                number_verified: true,
            },
            200,
        ),
        Some(refusal) => Err(Denial::from(refusal).into()),
    }
}
