// Run progress over the server's live socket (/ws, the visitor's token as
// the second subprotocol): one socket for the frame, opened when there is a
// run to follow and closed a while after the last one finished, so a page
// view where nobody writes holds no connection.
//
// Each run is the topic run:<id>, subscribed with `since` the last sequence
// number seen (0 the first time, so a run that moved on between its POST and
// the subscription replays its few events instead of being missed). A
// dropped socket comes back with backoff and subscribes again from there; a
// socket closed with 1008 (the token ended) gets a new session first.
//
// healthy() says whether every followed run is being followed live; the
// conversation polls while it is not, so a blocked socket only makes answers
// arrive a little later.

const FINISHED = new Set(["succeeded", "failed", "timed_out", "cancelled"]);
const IDLE_CLOSE_MS = 30_000;
const PING_MS = 25_000;
const RESUBSCRIBE_MS = 3_000;

export const finished = (status) => FINISHED.has(status);

/**
 * `token()` is the current bearer token, `renew()` gets a new session,
 * `onStatus(run, status)` gets each run event, `onGap(run)` is called when
 * events were missed and the run's state must be read again.
 */
export function createLive({ token, renew, onStatus, onGap }) {
  const runs = new Map(); // run id → {seq, live}
  let socket = null;
  let attempt = 0;
  let retry = null;
  let idle = null;
  let ping = null;
  let broken = false;
  let stale = false; // the server said the token is no good

  const url = `${location.protocol === "https:" ? "wss://" : "ws://"}${location.host}/ws`;

  const send = (frame) => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  };

  const subscribe = (run) => {
    const state = runs.get(run);
    if (!state || !socket || socket.readyState !== WebSocket.OPEN) return;
    send({ type: "subscribe", topic: `run:${run}`, since: state.seq });
    state.live = true;
  };

  function schedule(delay) {
    if (retry || broken || !runs.size) return;
    const wait = delay ?? Math.min(30_000, 1000 * 2 ** attempt++) * (0.5 + Math.random() / 2);
    retry = setTimeout(() => {
      retry = null;
      connect();
    }, wait);
  }

  function connect() {
    if (socket || retry || broken || !runs.size) return;
    let ws;
    try {
      ws = new WebSocket(url, ["agentdeck.visitor", token()]);
    } catch (_) {
      // The page's policy or a token that is no subprotocol name: polling
      // it is, for as long as the frame lives.
      broken = true;
      return;
    }
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      for (const run of runs.keys()) subscribe(run);
      ping = setInterval(() => send({ type: "ping" }), PING_MS);
    };
    ws.onmessage = (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (_) {
        return;
      }
      receive(frame);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(ping);
      for (const state of runs.values()) state.live = false;
      if (!runs.size) return;
      if (event.code === 1008 || stale) {
        stale = false;
        renew().then(() => schedule(0), () => schedule());
      } else {
        schedule();
      }
    };
  }

  function receive(frame) {
    const run = typeof frame.topic === "string" && frame.topic.startsWith("run:") ? frame.topic.slice(4) : null;
    const state = run && runs.get(run);
    if (frame.type === "event" && state) {
      if (typeof frame.seq === "number" && frame.seq > state.seq) state.seq = frame.seq;
      const event = frame.event || {};
      if (event.kind === "run" && typeof event.status === "string") {
        if (finished(event.status)) unwatch(run);
        onStatus(run, event.status);
      }
    } else if (frame.type === "error") {
      if (frame.code === "unauthenticated" && !run && socket) {
        stale = true;
        socket.close(1000);
      } else if (!state) {
        // An error about a run no longer followed, or about nothing.
      } else if (frame.code === "history_gone") {
        // Followed from the oldest event kept: read what was missed.
        onGap(run);
      } else if (frame.code === "unavailable" || frame.code === "rate_limited") {
        state.live = false;
        setTimeout(() => subscribe(run), RESUBSCRIBE_MS);
      } else {
        // unknown_topic, access_revoked, too_many_topics, …: polled.
        state.live = false;
      }
    }
  }

  function watch(run) {
    clearTimeout(idle);
    idle = null;
    if (runs.has(run)) return;
    runs.set(run, { seq: 0, live: false });
    if (socket) subscribe(run);
    else connect();
  }

  function unwatch(run) {
    if (!runs.delete(run)) return;
    send({ type: "unsubscribe", topic: `run:${run}` });
    if (!runs.size && socket && !idle) {
      idle = setTimeout(() => {
        idle = null;
        if (!runs.size && socket) {
          const ws = socket;
          socket = null;
          clearInterval(ping);
          ws.close(1000);
        }
      }, IDLE_CLOSE_MS);
    }
  }

  const healthy = () => {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    for (const state of runs.values()) if (!state.live) return false;
    return true;
  };

  return { watch, unwatch, watching: () => [...runs.keys()], healthy };
}
