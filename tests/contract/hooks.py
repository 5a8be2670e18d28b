"""Schemathesis hooks for scripts/schemathesis.sh.

Every generated request comes from its own client address. The worker keys
its per-sender limits on `CF-Connecting-IP` (set by Cloudflare's edge; under
`wrangler dev` the client's own value is used), and its admin lockout answers
`429 rate_limited` to every admin request of a sender after
ADMIN_FAILURES_PER_HOUR failed authentications: the run's own unauthenticated
probes would otherwise lock it out after ten requests and leave the admin
routes' answers untested. The lockout itself is covered by the end-to-end
suites. Addresses come from the documentation ranges (RFC 5737, RFC 3849):
only a header value, no traffic goes there.
"""

import random

import schemathesis

_rng = random.Random()


def _address() -> str:
    if _rng.random() < 0.5:
        net = _rng.choice(("192.0.2", "198.51.100", "203.0.113"))
        return f"{net}.{_rng.randrange(1, 255)}"
    hextets = ":".join(f"{_rng.randrange(0, 0x10000):x}" for _ in range(2))
    return f"2001:db8:{hextets}::{_rng.randrange(1, 0x10000):x}"


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = dict(case.headers or {})
    if not any(name.lower() == "cf-connecting-ip" for name in headers):
        headers["CF-Connecting-IP"] = _address()
        case.headers = headers
