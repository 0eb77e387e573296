#include "server/handlers.hpp"

#include <algorithm>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <optional>
#include <sstream>
#include <variant>

#include "server/assets.hpp"
#include "server/datastar.hpp"
#include "server/http_util.hpp"
#include "server/routes.hpp"
#include "server/shell.hpp"
#include "server/signals.hpp"
#include "stube/log.hpp"

namespace stube::server {

namespace http = boost::beast::http;

namespace {

// Boost 1.74's Beast has its own string_view.
boost::beast::string_view bsv(std::string_view s) {
  return {s.data(), s.size()};
}
std::string_view ssv(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

bool from_datastar(const Request& req) {
  return req.find("Datastar-Request") != req.end();
}

Response make(unsigned status, const Request& req) {
  Response res{static_cast<http::status>(status), req.version()};
  res.set(http::field::server, "stube");
  res.keep_alive(req.keep_alive());
  return res;
}

Response event_stream(unsigned status, const Request& req, std::string body) {
  Response res = make(status, req);
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

// The store holding the conversation cannot be reached (a shared store that
// is down): the conversation may well exist, so "try again", not "ended".
Response unavailable(const Request& req) {
  return retry_later(reject(503, req, "the conversation store is unavailable; try again shortly"));
}

// An event or stream for a conversation while the runtime shuts down: it
// has been saved for the next server, so "try again", not "stale" (which
// would disable the page for good).
Response restarting(const Request& req) {
  return retry_later(reject(503, req, "the server is restarting; try again in a moment"));
}

Response stale(const Request& req) {
  if (from_datastar(req)) {
    std::string body;
    append_fragment(stale_page_fragment(), body);
    return event_stream(410, req, std::move(body));
  }
  return text_response(410, "this conversation has ended or is unknown: reload the page",
                       req.version(), req.keep_alive());
}

// GET's routes that read (pages, the shell, assets) also answer HEAD: the
// same head without the body (RFC 9110 §9.3.2), for health checks and
// link checkers.
bool reads(const Request& req) {
  return req.method() == http::verb::get || req.method() == http::verb::head;
}
constexpr std::string_view kReadMethods = "GET, HEAD";

Response method_not_allowed(const Request& req, std::string_view allowed) {
  Response res = text_response(405, "method not allowed; use " + std::string(allowed),
                               req.version(), req.keep_alive());
  res.set(http::field::allow, bsv(allowed));
  return res;
}

// Every owner cookie of `cid` the browser sent (at most a few), from any
// Cookie header: HTTP/2 gateways may pass the cookies on as several (RFC
// 9113 §8.2.3 asks them to join them; not all do). More than one when a
// cookie of the same name was set for a longer path, e.g. planted by a
// sibling subdomain: it comes first, and must not shadow the owner's.
std::vector<std::string> owners_of(const Request& req, std::string_view cid) {
  constexpr std::size_t kMaxOwnerCookies = 4;
  const std::string name = owner_cookie_name(cid);
  std::vector<std::string> owners;
  const auto [first, last] = req.equal_range(http::field::cookie);
  for (auto it = first; it != last; ++it)
    for (const std::string_view value : cookie_values(ssv(it->value()), name))
      if (owners.size() < kMaxOwnerCookies &&
          std::find(owners.begin(), owners.end(), value) == owners.end())
        owners.emplace_back(value);
  return owners;
}

// Runs `call(owner)` with each owner cookie until one is not Forbidden (a
// Forbidden call changes nothing); with none, once with no owner.
template <class Call>
Runtime::Result as_owner(const Request& req, std::string_view cid, Call&& call) {
  const std::vector<std::string> owners = owners_of(req, cid);
  if (owners.empty()) return call(std::string_view());
  Runtime::Result result = Runtime::Result::Forbidden;
  for (const std::string& owner : owners) {
    result = call(owner);
    if (result != Runtime::Result::Forbidden) break;
  }
  return result;
}

// A 403 for a request that is not the conversation's owner's, saying
// which of two things happened: no owner cookie arrived (the browser blocked,
// cleared or evicted it; or a page framed by another site, where a
// SameSite=Lax cookie is not sent), or another browser session's did.
Response forbidden(const Request& req, std::string_view cid) {
  if (owners_of(req, cid).empty())
    return reject(403, req,
                  "forbidden: this page's owner cookie did not arrive (the browser blocked, "
                  "cleared or evicted it, or the page is framed by another site): reload the page");
  return reject(403, req, "forbidden: this conversation belongs to another browser session");
}

// After a change: a message of an earlier refused or failed event goes
// away, the signals the page sent (`sent`) of instances that are gone are
// dropped, and the bound signals are brought in line with the state (a
// handler may have cleared a field, a new dialog has its default), except
// the fields of the addressed instance `iid` the event left as the page
// sent them (see answer_signals_json).
Response changed(Core& core, const Request& req, std::string_view cid, std::string_view iid,
                 const edn::Value& sent) {
  std::string body;
  append_fragment(cleared_error_fragment(), body);
  if (const auto conv = core.runtime->conversation(cid)) {
    std::vector<std::string> removed = stale_namespaces(sent, *conv);
    const std::string json = answer_signals_json(*core.registry, *conv, iid, sent, &removed);
    append_remove_signals(removed, body);
    if (!json.empty()) append_merge_signals(json, body);
  }
  return event_stream(200, req, std::move(body));
}

// `iid`: the instance an event went to; empty for a back.
Response from_result(Core& core, Runtime::Result result, const Request& req, std::string_view cid,
                     std::string_view iid, const edn::Value& sent) {
  switch (result) {
    case Runtime::Result::Ok:
      return changed(core, req, cid, iid, sent);
    case Runtime::Result::NoConversation:
      return core.runtime->shutting_down() ? restarting(req) : stale(req);
    case Runtime::Result::NoInstance:
      // No prepare_payload(): it would add "Content-Length: 0", which a 204
      // must not carry (RFC 9110 §8.6); a 204 has no body by definition.
      return make(204, req);
    case Runtime::Result::Forbidden:
      return forbidden(req, cid);
    case Runtime::Result::Unavailable:
      return unavailable(req);
    case Runtime::Result::UnknownEvent:
      return reject(400, req, "bad event: the component has no handler for it");
    case Runtime::Result::BadSignals:
      return reject(400, req, "bad signals: they do not fit the component's state");
    case Runtime::Result::BadEvent:
      return reject(400, req, "bad event: the component refused it");
    case Runtime::Result::HandlerError:
      break;
  }
  // The error is on the page already (the runtime sent it on the stream).
  return event_stream(500, req, {});
}

edn::Value read_payload(const QueryParams& query) {
  const auto it = query.find("p");
  if (it == query.end()) return {};
  try {
    return edn::read(it->second, edn::ReadOptions{kMaxPayloadDepth});
  } catch (const edn::Error& e) {
    throw BadRequest(std::string("bad EDN payload in query parameter p: ") + e.what());
  }
}

// An event or back sent by another site's page (a browser says so in
// Sec-Fetch-Site): the page that drives a conversation is always this
// server's own. SameSite=Lax keeps the cookie off cross-site POSTs, but not
// off a sibling subdomain's ("same-site"). Clients that are not browsers
// send no such header.
std::optional<Response> refuse_foreign_page(const Request& req) {
  const auto site = req.find("Sec-Fetch-Site");
  if (site == req.end()) return std::nullopt;
  const std::string_view value = ssv(site->value());
  if (value == "same-origin" || value == "none") return std::nullopt;
  return reject(403, req,
                "a request from another site's page (Sec-Fetch-Site: " +
                    printable(value.substr(0, 32)) + ") is refused");
}

Response post_event(Core& core, const Request& req, const Route& r, std::string_view query) {
  if (req.method() != http::verb::post) return method_not_allowed(req, "POST");
  if (auto refused = refuse_foreign_page(req)) return std::move(*refused);
  edn::Value payload = read_payload(parse_query(query));
  const edn::Value all = signals_from_json(req.body());
  Event event{r.event, std::move(payload), instance_signals(all, r.iid)};
  std::string why;
  const auto result = as_owner(req, r.cid, [&](std::string_view owner) {
    return core.runtime->dispatch(r.cid, r.iid, event, owner, &why);
  });
  if (result == Runtime::Result::UnknownEvent)
    return reject(400, req, "bad event '" + r.event + "': the component has no handler for it");
  if (result == Runtime::Result::BadSignals) return reject(400, req, "bad signals: " + why);
  if (result == Runtime::Result::BadEvent) return reject(400, req, "bad event: " + why);
  return from_result(core, result, req, r.cid, r.iid, all);
}

Response post_back(Core& core, const Request& req, const Route& r) {
  if (req.method() != http::verb::post) return method_not_allowed(req, "POST");
  if (auto refused = refuse_foreign_page(req)) return std::move(*refused);
  // Back uses no signals; the page's are only looked at for those to drop.
  // A body that is not JSON is still malformed input (SPEC §9): the
  // BadRequest it throws is a 400, and nothing goes back.
  const edn::Value sent = signals_from_json(req.body());
  const auto result = as_owner(
      req, r.cid, [&](std::string_view owner) { return core.runtime->back(r.cid, owner); });
  return from_result(core, result, req, r.cid, {}, sent);
}

// A stream is opened by the page's script. Opened by another site's page,
// or by navigating to it (a link of any site: the Lax cookie goes along
// with a top-level GET), it would replace the page's stream, which ends
// cleanly and is not retried: the page would get no more patches.
std::optional<Response> refuse_foreign_stream(const Request& req) {
  if (auto refused = refuse_foreign_page(req)) return refused;
  const auto mode = req.find("Sec-Fetch-Mode");
  if (mode == req.end() || !boost::beast::iequals(mode->value(), "navigate")) return std::nullopt;
  return reject(403, req,
                "a stream is opened by the page's script, not navigated to "
                "(Sec-Fetch-Mode: navigate)");
}

Reply open_stream(Core& core, const Request& req, const Route& r,
                  const boost::asio::any_io_executor& strand) {
  if (req.method() != http::verb::get) return {method_not_allowed(req, "GET"), nullptr};
  if (auto refused = refuse_foreign_stream(req)) return {std::move(*refused), nullptr};
  auto stream = std::make_shared<SseStream>(core, r.cid, strand, req.version() >= 11);
  const auto attached = as_owner(req, r.cid, [&](std::string_view owner) {
    return core.runtime->attach(r.cid, owner, stream);
  });
  switch (attached) {
    case Runtime::Result::Ok:
      return {Response{}, std::move(stream)};
    case Runtime::Result::HandlerError:
      // A restored conversation's wakeup hook threw: the stream carries the
      // error to the page (and later patches), the conversation is as it was.
      return {Response{}, std::move(stream)};
    // A 503 says "try again": cut short, so that the page's stream retries
    // (a complete response would end it for good).
    case Runtime::Result::NoConversation:
      if (core.runtime->shutting_down()) return {restarting(req), nullptr, true};
      return {stale(req), nullptr};
    case Runtime::Result::Forbidden:
      return {forbidden(req, r.cid), nullptr};
    case Runtime::Result::Unavailable:
      return {unavailable(req), nullptr, true};
    default:
      return {event_stream(500, req, {}), nullptr};
  }
}

// Kept for a year only under the URL that names this version (asset_url's
// "?v=<etag>", which the shell pages use): a page of the application's own
// that links "_stube/stube.css" plainly would otherwise keep an old copy for
// a year after an upgrade. Such a URL is revalidated (If-None-Match: a 304).
constexpr const char* kVersionedAssetCaching = "public, max-age=31536000, immutable";
constexpr const char* kPlainAssetCaching = "no-cache";

bool names_this_version(std::string_view query, std::string_view etag) {
  // etag is quoted: "\"<hex>\""
  return etag.size() >= 2 && query.starts_with("v=") &&
         query.substr(2) == etag.substr(1, etag.size() - 2);
}

Response asset(const Request& req, const Route& r, std::string_view query) {
  if (!reads(req)) return method_not_allowed(req, kReadMethods);
  const Asset* a = find_asset(r.asset);
  if (!a) return text_response(404, "no such asset", req.version(), req.keep_alive());
  const char* caching =
      names_this_version(query, a->etag) ? kVersionedAssetCaching : kPlainAssetCaching;
  const auto [first, last] = req.equal_range(http::field::if_none_match);
  if (std::any_of(first, last,
                  [&](const auto& f) { return none_match_names(ssv(f.value()), a->etag); })) {
    // No prepare_payload(): "Content-Length: 0" would claim that the asset
    // is empty (RFC 9110 §8.6); a 304 has no body by definition.
    Response res = make(304, req);
    res.set(http::field::etag, bsv(a->etag));
    res.set(http::field::cache_control, caching);  // as the 200 (RFC 9110 §15.4.5)
    return res;
  }
  Response res = make(200, req);
  res.set(http::field::content_type, bsv(a->content_type));
  res.set(http::field::etag, bsv(a->etag));
  res.set(http::field::cache_control, caching);
  res.body() = std::string(a->body);
  res.prepare_payload();
  return res;
}

// The owner cookie, once for each route that carries the conversation's cid
// (Path=<base>/sse/<cid>, …/event/<cid>, …/back/<cid>): a browser sends it
// only to that conversation's own requests, so a browser that opened many
// pages never sends them all at once (with Path=/ every request would carry
// every cookie, and after some 130 pages the headers outgrow
// max_header_bytes), and the browser's own cookie limit evicts the cookies
// of pages used least recently. A session cookie: no Max-Age, since events
// keep a conversation alive past any fixed age (the reaper measures idle
// time), and a cookie outliving its conversation opens nothing.
void set_owner_cookies(Response& res, const Core& core, std::string_view cid,
                       std::string_view owner) {
  const std::string attributes =
      std::string("; HttpOnly; SameSite=Lax") + (core.options.secure_cookie ? "; Secure" : "");
  for (const std::string_view route : {"/sse/", "/event/", "/back/"}) {
    std::string c = owner_cookie_name(cid);
    c.append("=").append(owner).append("; Path=").append(core.options.base_path);
    c.append(route).append(cid).append(attributes);
    res.insert(http::field::set_cookie, c);
  }
}

// The shell page's head without minting a conversation: a HEAD must not
// change anything, and the page's length is not known without one.
Response shell_head(const Request& req) {
  Response res = make(200, req);
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  return res;
}

Response mint(Core& core, const Request& req, const Mount& m, std::string_view query) {
  if (!reads(req)) return method_not_allowed(req, kReadMethods);
  edn::Value args;
  if (m.init) {
    const QueryParams params = parse_query(query, true);
    try {
      args = m.init(params);
    } catch (const std::exception& e) {
      throw BadRequest(std::string("bad query: ") + e.what());
    } catch (...) {
      throw BadRequest("bad query: init threw something that is not a std::exception");
    }
  }
  const auto shutting_down = [&req] {
    return retry_later(
        text_response(503, "the server is shutting down; try again shortly", req.version(), false));
  };
  const auto full = [&req] {
    return retry_later(text_response(503,
                                     "the server holds too many conversations; try again later",
                                     req.version(), req.keep_alive()));
  };
  if (req.method() == http::verb::head) {  // as a GET would answer, without the mint
    if (core.runtime->shutting_down()) return shutting_down();
    return core.runtime->full() ? full() : shell_head(req);
  }
  Runtime::Minted minted;
  try {
    minted = core.runtime->mint(m.component, args);
  } catch (const ShuttingDown&) {
    return shutting_down();
  } catch (const TooManyConversations&) {
    return full();
  }
  Response res = make(200, req);
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  set_owner_cookies(res, core, minted.cid, minted.owner);
  const std::string signals = kept_signals_json(*core.registry, minted.conv);
  res.body() = render_shell(ShellPage{core.options.base_path, minted.cid, m.component, minted.html,
                                      core.options.keep_alive, signals});
  res.prepare_payload();
  return res;
}

Response page_or_mount(Core& core, const Request& req, const Route& r, std::string_view query) {
  std::optional<Mount> mount;
  {
    std::shared_lock lock(core.routes_mu);
    if (auto it = core.mounts.find(r.path); it != core.mounts.end()) {
      mount = it->second;
    } else if (auto p = core.pages.find(r.path); p != core.pages.end()) {
      if (!reads(req)) return method_not_allowed(req, kReadMethods);
      Response res = make(200, req);
      res.set(http::field::content_type, "text/html; charset=utf-8");
      res.set(http::field::cache_control, "no-cache");
      res.body() = p->second;
      res.prepare_payload();
      return res;
    }
  }
  if (!mount) return text_response(404, "not found", req.version(), req.keep_alive());
  return mint(core, req, *mount, query);
}

}  // namespace

Response reject(unsigned status, const Request& req, std::string_view message) {
  if (from_datastar(req)) {
    std::string body;
    append_fragment(error_fragment(message), body);
    return event_stream(status, req, std::move(body));
  }
  return text_response(status, message, req.version(), req.keep_alive());
}

std::string owner_cookie_name(std::string_view cid) {
  return "stube-" + std::string(cid);
}

Response text_response(unsigned status, std::string_view message, unsigned version,
                       bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::server, "stube");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.keep_alive(keep_alive);
  res.body() = std::string(message);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

void drop_body_for_head(Response& res) {
  const std::size_t length = res.body().size();
  res.body().clear();
  if (res.has_content_length()) res.content_length(length);
}

std::string unfinished(Response res) {
  std::string body = std::move(res.body());
  res.body().clear();
  res.erase(http::field::content_length);
  res.chunked(true);
  res.keep_alive(false);
  std::ostringstream head;
  head << res.base();
  std::string out = std::move(head).str();
  if (!body.empty()) {
    char size[24];
    const int n = std::snprintf(size, sizeof size, "%zx\r\n", body.size());
    out.append(size, static_cast<std::size_t>(n));
    out += body;
    out += "\r\n";
  }
  return out;
}

std::string refused_stream_response(std::string_view message) {
  Response res{http::status::service_unavailable, 11};
  res.set(http::field::server, "stube");
  res.set(http::field::content_type, "text/event-stream");
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  append_fragment(error_fragment(message), res.body());
  return unfinished(retry_later(std::move(res)));
}

Response retry_later(Response res) {
  res.set(http::field::retry_after, "5");
  return res;
}

namespace {

// The base path itself ("/app") is sent on to "/app/": relative links on
// the page served there (the demo's index) resolve under the base path
// only from there, as a proxy's own redirect would do.
Response to_base_directory(const Request& req, std::string_view path, std::string_view query) {
  std::string location = std::string(path) + "/";
  if (!query.empty()) location.append("?").append(query);
  Response res = text_response(301, "moved to " + location, req.version(), req.keep_alive());
  res.set(http::field::location, bsv(location));
  return res;
}

// The host the request is for, without its port ("[::1]:8080" ->
// "[::1]"): an absolute-form target's (RFC 9112 §3.2.2: the Host header is
// then ignored), else the Host header's. Throws BadRequest for one that is
// not `uri-host [":" port]` (RFC 9112 §3.2: a server must answer 400).
std::string_view requested_host(const Request& req) {
  const std::string_view target = ssv(req.target());
  if (const std::string_view authority = target_authority(target); !authority.empty()) {
    if (const auto host = authority_host(authority)) return *host;
    throw BadRequest("bad request target: its host '" + printable(authority.substr(0, 100)) +
                     "' is not a host name or address with an optional port");
  }
  const auto it = req.find(http::field::host);
  if (it == req.end()) return {};
  if (const auto host = authority_host(ssv(it->value()))) return *host;
  throw BadRequest("bad Host header '" + printable(ssv(it->value()).substr(0, 100)) +
                   "': expected a host name or address with an optional port (RFC 9112 §3.2)");
}

// OPTIONS * asks what the server as a whole supports (RFC 9110 §9.3.7).
Response server_options(const Request& req) {
  Response res{http::status::no_content, req.version()};
  res.set(http::field::server, "stube");
  res.set(http::field::allow, "GET, HEAD, POST");
  res.keep_alive(req.keep_alive());
  return res;
}

bool host_allowed(const ServerOptions& options, std::string_view host) {
  const auto same = [host](const std::string& allowed) {
    return std::ranges::equal(host, allowed, [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) ==
             std::tolower(static_cast<unsigned char>(b));
    });
  };
  return options.allowed_hosts.empty() || std::ranges::any_of(options.allowed_hosts, same);
}

}  // namespace

std::variant<Target, Response> route_request(const Core& core, const Request& req) {
  // RFC 9112 §3.2: a server must answer 400 to these.
  if (const std::size_t hosts = req.count(http::field::host); hosts > 1)
    return reject(400, req, "more than one Host header (RFC 9112 §3.2)");
  else if (hosts == 0 && req.version() >= 11)
    return reject(400, req, "an HTTP/1.1 request needs a Host header (RFC 9112 §3.2)");
  try {
    if (const std::string_view host = requested_host(req); !host_allowed(core.options, host))
      return reject(421, req,
                    "this server does not answer for the host '" + printable(host.substr(0, 100)) +
                        "' (ServerOptions::allowed_hosts)");
    if (req.target() == "*" && req.method() == http::verb::options) return server_options(req);
    const auto target = origin_form(ssv(req.target()));
    if (!target) throw BadRequest("bad request target: expected a path or an http(s) URL");
    const auto [path, query] = split_target(*target);
    if (path == core.options.base_path && !path.empty() && reads(req))
      return to_base_directory(req, path, query);
    const auto relative = strip_base(path, core.options.base_path);
    if (!relative) return text_response(404, "not found", req.version(), req.keep_alive());
    return Target{parse_route(*relative), std::string(query)};
  } catch (const BadRequest& e) {
    return reject(400, req, e.what());
  }
}

bool may_wait(const Core& core, const Route& route) {
  switch (route.kind) {
    case Route::Kind::Asset:
      return false;
    case Route::Kind::Path: {
      std::shared_lock lock(core.routes_mu);
      return core.mounts.find(route.path) != core.mounts.end();
    }
    default:
      return true;
  }
}

namespace {

// A failure of the application or the server, logged with the request that
// met it; the client learns nothing of it but the status.
Reply internal_error(const Request& req, std::string_view what) {
  log::error(std::string("server: ") + std::string(req.method_string()) + " " +
             std::string(req.target()) + ": " + std::string(what));
  return {text_response(500, "internal server error", req.version(), false), nullptr};
}

}  // namespace

Reply handle_request(Core& core, const Request& req, const Target& target,
                     const boost::asio::any_io_executor& strand) {
  const Route& route = target.route;
  const std::string_view query = target.query;
  try {
    switch (route.kind) {
      case Route::Kind::Sse:
        return open_stream(core, req, route, strand);
      case Route::Kind::Event:
        return {post_event(core, req, route, query), nullptr};
      case Route::Kind::Back:
        return {post_back(core, req, route), nullptr};
      case Route::Kind::Asset:
        return {asset(req, route, query), nullptr};
      case Route::Kind::Path:
        return {page_or_mount(core, req, route, query), nullptr};
    }
    return {text_response(404, "not found", req.version(), req.keep_alive()), nullptr};
  } catch (const BadRequest& e) {
    return {reject(400, req, e.what()), nullptr};
  } catch (const std::exception& e) {
    return internal_error(req, e.what());
  } catch (...) {
    return internal_error(req, "threw something that is not a std::exception");
  }
}

}  // namespace stube::server
