"""The Help + Support service: its JSON API, sign-in and the page (aiohttp, beside the PSRP listener).

    portal = Portal(env, gate=listener.gate, ssl_context=listener.ssl_context)   # inside `pep serve`
    await portal.start("127.0.0.1", 8443); ...; await portal.stop()
    PortalThread(env, admin_password_file=...).start()                           # tests: port 0, .url, .stop()

Sign-in: the one rule of session/signin.py (a SignInGate; `pep serve` shares the listener's, so a
lockout counts across both). The API takes HTTP Basic (over HTTPS; on plain HTTP only from this
computer) or the page's session cookie (a CSRF header then for PUT / POST); the page takes a
sign-in form and a session cookie (session/portal/sessions.py). Every failed sign-in is answered
after the gate's delay with one answer, whether the account is locked, unknown or the password
wrong. Bodies are capped (`portal.max_body_kb`, default 64); bad input gets a JSON error (API) or
a message on the page, never a traceback.

The outage switch and the automatic-collection scheduler plug in through `is_down` and `services`
(session/portal/hooks.py).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import logging
import os
import ssl
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from collector import automatic_settings
from collector.collect_now import CollectNowError
from collector.history import History, HistoryRow, HistoryStatus
from common.redact import redact
from session.accounts import Accounts
from session.connections import ConnectionGuard, ConnectionLimits
from session.environment import Environment
from session.loopthread import LoopThread
from session.portal import hooks, views
from session.portal.collections import Collections
from session.portal.sessions import COOKIE, CSRF_FIELD, CSRF_HEADER, SIGNIN_COOKIE, Session, Sessions, new_token, same
from session.signin import LockoutPolicy, SignInGate

log = logging.getLogger(__name__)

DEFAULT_ADDRESS = "127.0.0.1:8443"
REALM = 'Basic realm="Azure Stack Hub Help + Support", charset="UTF-8"'
UNAUTHORIZED = ("Unauthorized", "Sign in with the user name and password of a CloudAdmin account (HTTP Basic). "
                "A wrong password, an unknown user and a locked account all get this answer.")
SIGNIN_FAILED = "Sign-in failed: the user name or password is incorrect, or the account is locked."
PAGE_HEADERS = {
    # script-src / connect-src 'self': the per-collection page's one script (static/collection.js) polls the API
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SCRIPT = (Path(__file__).parent / "static" / "collection.js").read_bytes()


def parse_address(text: str | None, default: str = DEFAULT_ADDRESS) -> tuple[str, int]:
    """HOST:PORT, [v6]:PORT, :PORT or PORT (on loopback). ValueError for anything else."""
    text = (text or default).strip()
    host, port = "127.0.0.1", ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.isdigit():
        port = text
    elif text.count(":") == 1:
        host, port = text.split(":")
        host = host or "127.0.0.1"
    else:
        raise ValueError(f"The portal address '{text[:100]}' is not HOST:PORT (for example {DEFAULT_ADDRESS}).")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"The portal address '{text[:100]}' has no valid port (for example {DEFAULT_ADDRESS}).")
    return host, int(port)


def _loopback(peer: str | None) -> bool:
    try:
        return ipaddress.ip_address((peer or "").split("%")[0]).is_loopback
    except ValueError:
        return False


def api_error(status: int, code: str, message: str, field: str | None = None,
              headers: dict[str, str] | None = None) -> web.Response:
    err: dict[str, Any] = {"code": code, "message": redact(message)}
    if field:
        err["field"] = field
    return web.json_response({"error": err}, status=status, headers={"Cache-Control": "no-store", **(headers or {})})


class ApiError(Exception):
    """Raised by a handler to answer with a JSON error."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


_CODES = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 413: "RequestTooLarge"}


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


class Portal:
    """Everything one service owns; `start()` / `stop()` run on an asyncio loop."""

    def __init__(self, env: Environment, *, gate: SignInGate | None = None, ssl_context: ssl.SSLContext | None = None,
                 admin_password_file: str | os.PathLike[str] | None = None,
                 is_down: Callable[[Environment], bool] = hooks.support_is_down,
                 services: Sequence[hooks.BackgroundService] | None = None):
        self.env = env
        self.https = ssl_context is not None
        self.ssl_context = ssl_context
        self.generated_password: str | None = None
        self._own_gate = gate is None
        if gate is None:
            stamp = env.stamp
            accounts = Accounts(env.state, stamp.definition.get("domain_fqdn") or stamp.domain)
            self.generated_password = accounts.ensure_admin(admin_password_file)
            gate = SignInGate(accounts, LockoutPolicy.from_settings(env.setting))
        self.gate = gate
        self.is_down = is_down
        self.collections = Collections(env)
        # the scheduler reports each automatic collection's progress through self.collections, as
        # "Collect logs now" does, so GET /api/collections/{id} and the page show both live
        self.services = list(hooks.background_services(env, self.collections.live) if services is None else services)
        # limits and idle timeout from the configuration; a removed account's sessions end (sessions.py)
        self.sessions = Sessions.from_settings(env.setting, valid_user=getattr(gate.accounts, "exists", None))
        self.max_body = int(env.setting("portal.max_body_kb", 64)) * 1024
        self.executor = ThreadPoolExecutor(max_workers=int(env.setting("portal.workers", 8)), thread_name_prefix="pep-portal")
        self.templates = jinja2.Environment(loader=jinja2.PackageLoader("session.portal", "templates"),
                                            autoescape=True)
        self.templates.filters["when"] = views.short_time
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self.host: str | None = None
        self.port: int | None = None

    # -- assembly ----------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body, middlewares=[self._guard])
        r = app.router
        r.add_get("/api/health", self.api_health)
        r.add_get("/api/alerts", self.api_alerts)
        r.add_get("/api/settings/automatic-collection", self.api_get_settings)
        r.add_put("/api/settings/automatic-collection", self.api_put_settings)
        r.add_post("/api/collections", self.api_post_collection)
        r.add_get("/api/collections", self.api_collections)
        r.add_get("/api/collections/{id}", self.api_collection)
        r.add_get("/api/collections/{id}/report", self.api_report)
        r.add_get("/", self.page_overview)
        r.add_get("/collections/{id}", self.page_collection)
        r.add_get("/static/collection.js", self.static_script)
        r.add_get("/signin", self.page_signin)
        r.add_post("/signin", self.post_signin)
        r.add_post("/signout", self.post_signout)
        r.add_post("/collect", self.post_collect)
        r.add_post("/settings", self.post_settings)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 8443) -> int:
        loop = asyncio.get_running_loop()
        # A service marks the rows its dead predecessors left "in progress" (docs/help-support.md, History).
        await loop.run_in_executor(self.executor, History(self.env.state).mark_interrupted)
        # Every request signs in by itself (Basic or the session cookie), so an idle connection is worth
        # little: it is closed after a minute, which also bounds slow headers; the listener's connection
        # caps apply (docs/security.md, HTTP and WS-Management limits).
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False,
                                     keepalive_timeout=float(self.env.setting("portal.keepalive_seconds", 60)))
        await self._runner.setup()
        protocols = self._runner.server
        assert protocols is not None  # set by setup()
        guard = ConnectionGuard(ConnectionLimits.from_settings(self.env.setting), protocols, lambda transport: True)
        self._server = await loop.create_server(guard, host, port, ssl=self.ssl_context, backlog=128,
                                                reuse_address=True)
        self.host, self.port = host, self._server.sockets[0].getsockname()[1]  # the bound port when 0 was asked for
        for service in self.services:
            await loop.run_in_executor(self.executor, service.start)
        return self.port

    async def stop(self) -> None:
        loop = asyncio.get_running_loop()
        for service in self.services:
            await loop.run_in_executor(self.executor, service.stop)
        await loop.run_in_executor(self.executor, self.collections.close)
        if self._server:
            self._server.close()
        if self._runner:
            await self._runner.cleanup()
        if self._own_gate:
            self.gate.close()
        self.executor.shutdown(wait=False, cancel_futures=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if self.host and ":" in self.host else self.host
        return f"{'https' if self.https else 'http'}://{host}:{self.port}/"

    async def _blocking(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, partial(fn, *args))

    # -- every request -----------------------------------------------------------------------
    @web.middleware
    async def _guard(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        api = request.path.startswith("/api/")
        try:
            if self.is_down(self.env):
                return self._outage(api)
            response = await handler(request)
        except ApiError as e:
            response = api_error(e.status, e.code, e.message, e.field)
        except web.HTTPException as e:
            if e.status < 400:
                raise
            if api:
                response = api_error(e.status, _CODES.get(e.status, "Error"), e.reason or "Error")
            else:
                response = self._render("error.html", status=e.status, title=e.reason, message=e.reason)
            if e.status == 413:
                response.force_close()
        except Exception:
            log.exception("portal: %s %s", request.method, request.path)
            message = "The service could not answer this request; the server's log has the details."
            response = (api_error(500, "InternalError", message) if api
                        else self._render("error.html", status=500, title="Error", message=message))
        if not api or request.path.endswith("/report"):
            for k, v in PAGE_HEADERS.items():
                response.headers.setdefault(k, v)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    def _outage(self, api: bool) -> web.Response:
        # The PEP is a NoLanguage session: it computes no date, so the example passes literal dates
        # (a workstation script passes $using:fromDate: the outage page shows that form).
        message = ("Help + Support is down. Collect diagnostic logs through the privileged endpoint (PEP) instead, "
                   "for example: Get-AzureStackLog -OutputSasUri \"<container SAS URL>\" "
                   "-FromDate \"11/25/2026 08:00\" -ToDate \"11/25/2026 12:00\"")
        if api:
            return api_error(503, "SupportDown", message, headers={"Retry-After": "300"})
        return self._render("outage.html", status=503, headers={"Retry-After": "300"})

    def _render(self, name: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> web.Response:
        text = self.templates.get_template(name).render(https=self.https, **context)
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=headers)

    # -- sign-in -----------------------------------------------------------------------------
    def _password_allowed(self, request: web.Request) -> bool:
        """A password may come over HTTPS, or over plain HTTP from this computer only."""
        return self.https or _loopback(request.remote)

    def _challenge(self, request: web.Request) -> web.Response:
        resp = api_error(401, *UNAUTHORIZED, headers={"WWW-Authenticate": REALM})
        if (request.content_length or 0) > self.max_body:
            resp.force_close()  # do not drain a large body nobody signed in for
        return resp

    async def _api_user(self, request: web.Request) -> str | web.Response:
        """The signed-in user of an API request, or the answer that ends it (no body read before this)."""
        authz = request.headers.get("Authorization")
        if authz:
            scheme, _, value = authz.partition(" ")
            if scheme.lower() != "basic":
                return self._challenge(request)
            if not self._password_allowed(request):
                return api_error(401, "HttpsRequired", "Basic sign-in over plain HTTP is accepted from this computer "
                                 "only: start the service with pep serve --https.", headers={"WWW-Authenticate": REALM})
            try:
                user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._challenge(request)
            name = await self.gate.basic(user, password, request.remote or "")
            if name is None:
                await self.gate.refuse()
                return self._challenge(request)
            return name
        session = self.sessions.get(request.cookies.get(COOKIE))
        if session is None:
            return self._challenge(request)
        if request.method not in ("GET", "HEAD") and not same(request.headers.get(CSRF_HEADER), session.csrf):
            return api_error(403, "CsrfTokenMissing", f"A signed-in page's request must carry its {CSRF_HEADER} header.")
        return session.user

    def _page_session(self, request: web.Request) -> Session | None:
        return self.sessions.get(request.cookies.get(COOKIE))

    def _set_cookie(self, resp: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
        resp.set_cookie(name, value, httponly=True, samesite="Strict", secure=self.https, path="/", max_age=max_age)

    async def page_signin(self, request: web.Request) -> web.StreamResponse:
        if self._page_session(request) is not None:
            return redirect("/")
        return self._signin_form(message=None)

    def _signin_form(self, message: str | None, status: int = 200, user: str = "") -> web.Response:
        token = new_token()
        resp = self._render("signin.html", status=status, message=message, user=user, csrf_token=token,
                            password_allowed=True)
        self._set_cookie(resp, SIGNIN_COOKIE, token, max_age=1800)
        return resp

    async def post_signin(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        if not same(str(form.get(CSRF_FIELD) or ""), request.cookies.get(SIGNIN_COOKIE)):
            return self._signin_form("The sign-in form has expired or was not sent by this page: try again.", status=403)
        user, password = str(form.get("user") or ""), str(form.get("password") or "")
        if not self._password_allowed(request):
            return self._signin_form("Sign-in over plain HTTP is accepted from this computer only: start the service "
                                     "with pep serve --https.", status=403)
        name = await self.gate.basic(user, password, request.remote or "") if user else None
        if name is None:
            if user:
                await self.gate.refuse()
            return self._signin_form(SIGNIN_FAILED, status=401, user=user[:256])
        self.sessions.end(request.cookies.get(COOKIE))
        token, _ = self.sessions.create(name)
        resp = redirect("/")
        self._set_cookie(resp, COOKIE, token)
        resp.del_cookie(SIGNIN_COOKIE, path="/")
        return resp

    async def _page_form(self, request: web.Request) -> tuple[Session, Any]:
        """The signed-in session and the posted form, its CSRF token checked (raises the answer otherwise)."""
        session = self._page_session(request)
        if session is None:
            raise web.HTTPSeeOther("/signin")
        form = await request.post()
        if not same(str(form.get(CSRF_FIELD) or ""), session.csrf):
            raise web.HTTPForbidden(reason="The form's CSRF token is missing or wrong: reload the page and try again")
        return session, form

    async def post_signout(self, request: web.Request) -> web.StreamResponse:
        await self._page_form(request)
        self.sessions.end(request.cookies.get(COOKIE))
        resp = redirect("/signin")
        resp.del_cookie(COOKIE, path="/")
        return resp

    # -- the API -----------------------------------------------------------------------------
    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ApiError(400, "InvalidJson", "The body is not valid JSON (UTF-8).") from None

    async def api_health(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        return web.json_response(await self._blocking(views.health_json, self.env))

    async def api_alerts(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        state = request.query.get("state")
        if state is not None and state.lower() not in views.ALERT_STATES:
            return api_error(400, "InvalidState", "state must be active or closed.", "state")
        alerts = await self._blocking(views.alerts_json, self.env, state.lower() if state else None)
        return web.json_response({"alerts": alerts})

    async def api_get_settings(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        return web.json_response(await self._blocking(views.settings_json, self.env))

    async def api_put_settings(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        body = await self._json_body(request)
        try:
            settings = await self._blocking(automatic_settings.save, body, self.env)
        except automatic_settings.SettingsError as e:
            return api_error(400, e.code, e.message, e.field)
        log.info("automatic-collection settings saved by %s (enabled: %s)", user, settings.enabled)
        return web.json_response(automatic_settings.public_view(settings))

    async def api_post_collection(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        body = await self._json_body(request)
        try:
            row = await self._blocking(self.collections.start, body, user)
        except CollectNowError as e:
            return api_error(400, e.code, e.message, e.field)
        log.info("collect logs now %s started by %s", row.id, user)
        return web.json_response(views.row_json(row), status=202, headers={"Location": f"/api/collections/{row.id}"})

    async def api_collections(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        try:
            offset = int(request.query.get("offset", "0"))
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return api_error(400, "InvalidPage", "offset and limit must be whole numbers.")
        if offset < 0 or not 1 <= limit <= 1000:
            return api_error(400, "InvalidPage", "offset must be 0 or more and limit from 1 to 1000.")
        return web.json_response(await self._blocking(views.history_page, self.env, offset, limit))

    async def api_collection(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        row = await self._blocking(History(self.env.state).get, request.match_info["id"])
        if row is None:
            return api_error(404, "CollectionNotFound", "There is no collection with this id.")
        return web.json_response(views.row_json(row, self._progress(row)))

    def _progress(self, row: HistoryRow) -> dict[str, Any] | None:
        """Live progress of a row in progress that runs in this service (a run's last moments, after
        its row is final, show none)."""
        return self.collections.progress(row.id) if row.status is HistoryStatus.IN_PROGRESS else None

    async def api_report(self, request: web.Request) -> web.StreamResponse:
        user = await self._api_user(request)
        if isinstance(user, web.Response):
            return user
        history = History(self.env.state)
        row_id = request.match_info["id"]
        if await self._blocking(history.get, row_id) is None:
            return api_error(404, "CollectionNotFound", "There is no collection with this id.")
        path: Path | None = await self._blocking(history.report_path, row_id)
        if path is None:
            return api_error(404, "ReportNotReady", "This collection has no report yet: it is written when the "
                             "collection ends.")
        return web.Response(body=await self._blocking(path.read_bytes), content_type="text/html", charset="utf-8")

    # -- the page ----------------------------------------------------------------------------
    async def _overview(self, session: Session, request: web.Request, status: int = 200, **context: Any) -> web.Response:
        try:
            offset = max(0, int(request.query.get("offset", "0")))
        except ValueError:
            offset = 0
        health = await self._blocking(views.health_json, self.env)
        alerts = await self._blocking(views.alerts_json, self.env, "active")
        history = await self._blocking(views.history_page, self.env, offset, 20)
        settings = await self._blocking(views.settings_json, self.env)
        context.setdefault("collect", {"values": {"timeZone": "UTC"}, "error": None})
        context.setdefault("settings_error", None)
        context.setdefault("notice", None)
        running = any(r["status"] == "in progress" for r in history["rows"])
        for r in history["rows"]:  # live progress of the runs of this service, beside their status
            if r["status"] == "in progress" and (live := self.collections.progress(r["id"])) is not None:
                r["progress"] = live
        return self._render("overview.html", status=status, user=session.user, csrf_token=session.csrf,
                            health=health, alerts=alerts, history=history, settings=settings, running=running, **context)

    async def page_overview(self, request: web.Request) -> web.StreamResponse:
        session = self._page_session(request)
        if session is None:
            return redirect("/signin")
        notice = None
        started = request.query.get("started")
        if started and await self._blocking(History(self.env.state).get, started) is not None:
            notice = f"Collection {started} started: it is in the history below."
        if request.query.get("saved"):
            notice = "The automatic-collection settings were saved."
        return await self._overview(session, request, notice=notice)

    async def page_collection(self, request: web.Request) -> web.StreamResponse:
        """One collection: its row, live progress while it runs (static/collection.js polls the API),
        the alerts that joined it, the manifest's summary and the link to its report."""
        session = self._page_session(request)
        if session is None:
            return redirect("/signin")
        row = await self._blocking(History(self.env.state).get, request.match_info["id"])
        if row is None:
            return self._render("error.html", status=404, title="Not found", message="There is no collection with this id.")
        data = views.row_json(row, self._progress(row))
        return self._render("collection.html", user=session.user, csrf_token=session.csrf, row=data,
                            progress=data.get("progress"))

    async def static_script(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=_SCRIPT, content_type="text/javascript", charset="utf-8",
                            headers={"Cache-Control": "no-cache"})

    async def post_collect(self, request: web.Request) -> web.StreamResponse:
        session, form = await self._page_form(request)
        body = {k: str(form.get(k) or "") for k in ("fromDate", "toDate", "timeZone", "sasUrl")}
        try:
            row = await self._blocking(self.collections.start, body, session.user)
        except CollectNowError as e:
            # The SAS URL is never written back into the page: the operator pastes it again.
            values = {k: v for k, v in body.items() if k != "sasUrl"}
            return await self._overview(session, request, status=400,
                                        collect={"values": values, "error": {"code": e.code, "message": redact(e.message),
                                                                             "field": e.field}})
        return redirect(f"/?started={row.id}#history")

    async def post_settings(self, request: web.Request) -> web.StreamResponse:
        session, form = await self._page_form(request)
        body: dict[str, Any] = {"enabled": form.get("enabled") == "on"}
        kind = str(form.get("kind") or "container")
        if kind == "share" and any(form.get(k) for k in ("sharePath", "userName", "password")):
            body["share"] = {"path": str(form.get("sharePath") or ""), "userName": str(form.get("userName") or ""),
                             "password": str(form.get("password") or "")}
        elif kind != "share" and form.get("sasUrl"):
            body["sasUrl"] = str(form.get("sasUrl"))
        try:
            await self._blocking(automatic_settings.save, body, self.env)
        except automatic_settings.SettingsError as e:
            return await self._overview(session, request, status=400,
                                        settings_error={"code": e.code, "message": redact(e.message), "field": e.field})
        return redirect("/?saved=1#settings")


class PortalThread(LoopThread["Portal"]):
    """A portal on its own event loop in a daemon thread (tests, benchmarks)."""

    def __init__(self, env: Environment, host: str = "127.0.0.1", port: int = 0, **kwargs: Any):
        super().__init__(Portal(env, **kwargs), host, port, "pep-portal")
        self.portal = self.server

    @property
    def url(self) -> str:
        return self.portal.url
