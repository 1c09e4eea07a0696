"""A local stand-in for Karapace's Kafka REST proxy authentication, as its
documentation and source describe it (Karapace itself is not installable from
the registries this project uses):

- ``Authorization: Bearer <JWT>``; the scheme is matched case-sensitively;
  a missing header, another scheme or an undecodable token gets 401;
- one proxy session (Kafka client) per distinct token;
- a cleanup cycle evicts sessions whose token has less than ``evict_seconds``
  left (Karapace: 300 s, checked every 300 s);
- REST consumer instances live in a session: made under one token, they are
  not visible under another.
"""
import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def decode_exp(token: str):
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        return float(claims["exp"])
    except Exception:
        return None


class RestProxy:
    def __init__(self, evict_seconds: float = 300.0, cycle_seconds: float = 300.0):
        self.evict_seconds = evict_seconds
        self.cycle_seconds = cycle_seconds
        self.sessions = {}  # token -> {"exp": float, "consumers": set}
        self.sessions_created = 0
        self.evicted = 0
        self.requests_after_eviction_margin = 0
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

            def _session(self):
                auth = self.headers.get("Authorization")
                if not auth or not auth.startswith("Bearer "):
                    self._reply(401, {"error_code": 40101, "message": "Unauthorized"})
                    return None
                token = auth[len("Bearer "):]
                exp = decode_exp(token)
                if exp is None:
                    self._reply(401, {"error_code": 40101, "message": "Unauthorized"})
                    return None
                if exp <= time.time():
                    self._reply(401, {"error_code": 40101, "message": "Token expired"})
                    return None
                with proxy.lock:
                    if exp - time.time() < proxy.evict_seconds:
                        proxy.requests_after_eviction_margin += 1
                    s = proxy.sessions.get(token)
                    if s is None:
                        s = proxy.sessions[token] = {"exp": exp, "consumers": set()}
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
        threading.Thread(target=self._cleanup, daemon=True).start()

    def _cleanup(self):
        while not self._stop.wait(self.cycle_seconds):
            with self.lock:
                now = time.time()
                for token in [t for t, s in self.sessions.items() if s["exp"] - now < self.evict_seconds]:
                    del self.sessions[token]
                    self.evicted += 1

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
