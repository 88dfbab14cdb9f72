// The frame's calls to the server, all under /embed/<id> on its own origin.
// A session (POST /session) gives a bearer token for an hour; a call that
// comes back 401 gets a new session and is sent once more. Errors become
// ApiError with the server's message, which the frame shows as it is (the
// server words them for visitors: rate limits, a spending cap, an embed
// turned off); a failure to reach the server gets a message of ours.

export class ApiError extends Error {
  constructor(status, code, message, field = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }
}

const UNREACHABLE = "Could not reach the server. Check your connection and try again.";

function fallbackMessage(status) {
  if (status === 429) return "Too many messages for now. Please wait a moment and try again.";
  if (status >= 500) return "Something went wrong on our side. Please try again in a moment.";
  return `The request was refused (HTTP ${status}).`;
}

/**
 * `session` is {visitor, page_origin, user}; `onSession(body)` sees every
 * session the frame gets, the first and each renewal.
 */
export function createApi(embedId, session, onSession) {
  const base = `/embed/${encodeURIComponent(embedId)}`;
  let token = null;
  let renewing = null;

  async function call(method, path, body, bearer) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    let response;
    try {
      response = await fetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // The token is the only credential: no cookie of the owner's own
        // session on this origin goes with a visitor's calls.
        credentials: "omit",
        cache: "no-store",
      });
    } catch (_) {
      throw new ApiError(0, "unreachable", UNREACHABLE);
    }
    if (response.ok) {
      if (response.status === 204) return null;
      try {
        return await response.json();
      } catch (_) {
        throw new ApiError(response.status, "invalid_response", fallbackMessage(500));
      }
    }
    let error = {};
    try {
      const payload = await response.json();
      if (payload && payload.error && typeof payload.error === "object") error = payload.error;
    } catch (_) {
      // Not JSON (a proxy's error page): the status says enough.
    }
    throw new ApiError(
      response.status,
      typeof error.code === "string" ? error.code : `http_${response.status}`,
      typeof error.message === "string" && error.message ? error.message : fallbackMessage(response.status),
      typeof error.field === "string" ? error.field : null,
      response.headers.get("Retry-After"),
    );
  }

  async function start() {
    const body = await call("POST", "/session", session);
    if (!body || typeof body.token !== "string") throw new ApiError(500, "invalid_response", fallbackMessage(500));
    token = body.token;
    onSession(body);
    return body;
  }

  /** A new session; calls that find the token expired at once share one. */
  function renew() {
    if (!renewing) {
      renewing = start().finally(() => {
        renewing = null;
      });
    }
    return renewing;
  }

  async function authed(method, path, body) {
    const used = token;
    try {
      return await call(method, path, body, used);
    } catch (error) {
      if (error.status !== 401) throw error;
      // Another call may have renewed it meanwhile.
      if (token === used) await renew();
      return call(method, path, body, token);
    }
  }

  return {
    start,
    renew,
    token: () => token,
    send: (payload) => authed("POST", "/messages", payload),
    messages: () => authed("GET", "/messages"),
    clear: () => authed("DELETE", "/messages"),
  };
}
