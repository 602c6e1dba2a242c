"""Nabij as an LTI 1.3 Advantage tool: launches from Brightspace, Canvas and Moodle, deep linking, rosters
(NRPS) and completion to the gradebook (AGS). For LMS admins: docs/lti.md.

Why the flow is written here on joserfc, and not on pylti1p3next
----------------------------------------------------------------
Every signature, JWKS and JWT check goes through **joserfc** (by Authlib's author; Authlib is already a
dependency and uses it for its own JOSE): RS256 only, keys from the platform's JWKS, the claims registry
for ``iss``/``aud``/``exp``/``iat``/``nonce``. Nothing in this package parses or verifies a token by hand.

``pylti1p3next`` (2.0.2 on PyPI, a maintained fork of PyLTI1p3) was evaluated. A FastAPI adapter is about
80 lines (RunestoneInteractive/rs has one), but its design fights three of our requirements:

* **Single-use nonce across browsers.** PyLTI1p3 keeps state and nonce in the *browser's* session/cookie
  store (``SessionDataStorage``/``CacheDataStorage``), so a launch replayed from another browser, or after
  the cookie store was cleared, is judged against that browser's memory. Nabij stores each login's
  state and nonce in the database (``lti_login``) and consumes it with one conditional UPDATE: a replay
  is refused everywhere, also in the same browser, also on another worker.
* **Third-party cookies blocked.** PyLTI1p3 fails the launch when its state cookie is missing; Nabij
  must instead offer "open in a new window" (LTI in an iframe in Safari/Firefox/Chrome without
  third-party cookies) and start the login again top-level.
* **Our own data model and sync DB sessions.** Its ``ToolConfDict``/``ToolConfJsonFile`` and launch data
  caches would duplicate ``lti_platform`` and need adapters for requests, cookies, sessions, redirects and
  a cache, each of which has to be kept in step with a library that still reaches into PyJWT *and*
  jwcrypto. The protocol parts it would save us (building the auth redirect, reading claims) are small.

So the OIDC/launch flow, deep linking response, NRPS and AGS calls are ~600 lines here, on joserfc and
httpx, and they are tested against an independent platform implementation (PyPI ``lti1p3platform``,
tests/lti/), so a mistake in our reading of the specification shows up as a failing launch there.

Modules: ``keys`` (the tool's keys, rotation, JWKS), ``registration`` (platforms), ``dynamic`` (LTI
Dynamic Registration), ``launch`` (login initiation and launch validation, mapping to classes, assignments
and accounts via app/services/identities.py), ``platform_keys`` (the platforms' JWKS, cached),
``deep_linking``, ``services`` (OAuth2 client credentials, NRPS, AGS), ``roster`` (NRPS sync, a job),
``grades`` (the job that posts completion, gated like the progress matrix), ``frames`` (cookies and
frame-ancestors for launches in an iframe), ``tasks`` (periodic purge of old logins).
"""
