"""A local stand-in for Karapace's REST proxy and the bearer-token checks of
its OIDC middleware, as Karapace's source describes them (read in
Aiven-Open/karapace: ``kafka_rest_apis/__init__.py``,
``kafka_rest_apis/authentication.py``, ``api/oidc/middleware.py``; Karapace
itself is not installable from the registries this project uses):

- ``Authorization: Bearer <JWT>``; the scheme is matched case-sensitively;
  a missing header, another scheme or an undecodable token gets 401;
- one proxy session (Kafka client) per distinct ``Authorization`` header;
- the idle-proxy janitor wakes every ``cycle_seconds`` (Karapace:
  ``IDLE_PROXY_TIMEOUT / 2`` = 150 s) and releases ONE session whose token
  expires within ``evict_seconds`` (``AUTH_EXPIRY_TOLERANCE`` = 300 s);
- REST consumer instances live in a session: made under one token, they are
  not visible under another;
- optional token validation (Karapace validates the bearer token it forwards
  to Schema Registry): signature against the issuer's JWKS, ``iss``, ``aud``
  (``expected_audience`` may list several, comma-separated), ``exp``, and the
  sub claim present, with PyJWT and only RS256/RS384/RS512 as Karapace
  hard-codes; plus its optional checks ``require_access_token_typ`` (header
  ``typ`` must be ``at+jwt``) and ``enforce_azp`` (``azp`` == ``client_id``),
  which STS tokens fail (their ``typ`` is ``JWT``, they have no ``azp``).
"""
import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt

#: Karapace's AUTH_EXPIRY_TOLERANCE (= IDLE_PROXY_TIMEOUT), seconds.
KARAPACE_EVICT_SECONDS = 300.0
#: Karapace's janitor period (IDLE_PROXY_TIMEOUT / 2), seconds.
KARAPACE_CYCLE_SECONDS = 150.0
#: The algorithms Karapace's OIDC middleware accepts (hard-coded there).
KARAPACE_ALGORITHMS = ("RS256", "RS384", "RS512")


def decode_exp(token: str):
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return float(claims["exp"])
    except Exception:
        return None


class RestProxy:
    def __init__(self, evict_seconds: float = KARAPACE_EVICT_SECONDS,
                 cycle_seconds: float = KARAPACE_CYCLE_SECONDS, *,
                 jwks_url: str = None, expected_issuer: str = None, expected_audience: str = None,
                 sub_claim_name: str = "sub", require_access_token_typ: bool = False,
                 enforce_azp: bool = False, client_id: str = None):
        if jwks_url and not (expected_issuer and expected_audience):
            raise ValueError("issuer and audience must be set with a JWKS URL (as in Karapace)")
        if enforce_azp and not client_id:
            raise ValueError("client_id is required with enforce_azp (as in Karapace)")
        self.evict_seconds = evict_seconds
        self.cycle_seconds = cycle_seconds
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self.expected_issuer = expected_issuer
        self.audiences = {a.strip() for a in (expected_audience or "").split(",") if a.strip()}
        self.sub_claim_name = sub_claim_name
        self.require_access_token_typ = require_access_token_typ
        self.enforce_azp = enforce_azp
        self.client_id = client_id
        self.sessions = {}  # Authorization header -> {"exp": float, "consumers": set}
        self.sessions_created = 0
        self.evicted = 0
        self.requests_after_eviction_margin = 0
        # The least lifetime any request's token had left when it arrived.
        self.least_remaining = None
        self.rejections = []  # why tokens were refused (401), newest last
        self.accepted_claims = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, code, body):
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("content-type", "application/vnd.kafka.v2+json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _refuse(self, why, message="Unauthorized"):
                with proxy.lock:
                    proxy.rejections.append(why)
                self._reply(401, {"error_code": 40101, "message": message})
                return None

            def _session(self):
                auth = self.headers.get("Authorization")
                if not auth:
                    return self._refuse("no Authorization header")
                scheme, _, token = auth.partition(" ")
                if scheme != "Bearer":
                    return self._refuse(f"scheme {scheme!r}")
                exp = decode_exp(token)
                if exp is None:
                    return self._refuse("not a JWT")
                if exp <= time.time():
                    return self._refuse("expired", "Token expired")
                if proxy.jwks is not None:
                    why = proxy.validate(token)
                    if why is not None:
                        return self._refuse(why)
                with proxy.lock:
                    left = exp - time.time()
                    if proxy.least_remaining is None or left < proxy.least_remaining:
                        proxy.least_remaining = left
                    if left < proxy.evict_seconds:
                        proxy.requests_after_eviction_margin += 1
                    s = proxy.sessions.get(auth)
                    if s is None:
                        s = proxy.sessions[auth] = {"exp": exp, "consumers": set()}
                        proxy.sessions_created += 1
                    return s

            def do_GET(self):
                s = self._session()
                if s is None:
                    return
                if self.path == "/topics":
                    return self._reply(200, ["my-topic"])
                parts = self.path.strip("/").split("/")
                if len(parts) == 4 and parts[0] == "consumers" and parts[2] == "instances":
                    if parts[3] in s["consumers"]:
                        return self._reply(200, {"instance_id": parts[3]})
                    return self._reply(404, {"error_code": 40403, "message": "Consumer instance not found"})
                self._reply(404, {"error_code": 404, "message": "not found"})

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                self.rfile.read(n)
                s = self._session()
                if s is None:
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) == 2 and parts[0] == "consumers":
                    iid = uuid.uuid4().hex
                    s["consumers"].add(iid)
                    return self._reply(200, {"instance_id": iid, "base_uri": f"/consumers/{parts[1]}/instances/{iid}"})
                self._reply(404, {"error_code": 404, "message": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._janitor, daemon=True).start()

    def validate(self, token):
        """None when the token passes the checks Karapace's OIDC middleware
        makes, else why not (in that order: typ, signature/claims, azp)."""
        try:
            if self.require_access_token_typ:
                typ = jwt.get_unverified_header(token).get("typ", "")
                if typ.lower() not in ("at+jwt", "application/at+jwt"):
                    return f"typ {typ!r} is not at+jwt"
            key = self.jwks.get_signing_key_from_jwt(token)
            require = {"exp", "iss", "aud"} | ({self.sub_claim_name} if self.sub_claim_name else set())
            claims = jwt.decode(token, key.key, algorithms=list(KARAPACE_ALGORITHMS),
                                audience=self.audiences, issuer=self.expected_issuer,
                                options={"require": sorted(require)})
            if self.enforce_azp and claims.get("azp") != self.client_id:
                return "azp claim does not match client_id"
        except jwt.ExpiredSignatureError:
            return "expired"
        except jwt.PyJWTError as e:
            return f"{type(e).__name__}: {e}"
        with self.lock:
            self.accepted_claims.append(claims)
        return None

    def _janitor(self):
        # Karapace releases at most one session per wake-up.
        while not self._stop.wait(self.cycle_seconds):
            with self.lock:
                limit = time.time() + self.evict_seconds
                for key, s in self.sessions.items():
                    if s["exp"] < limit:
                        del self.sessions[key]
                        self.evicted += 1
                        break

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
