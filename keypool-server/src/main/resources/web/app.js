/*
 * keypool dashboard: a dependency-free page over the admin API (see notes/dashboard-api.md).
 *
 * Data flow. The status JSON is the single source of truth for cards, key rows and alerts; it
 * arrives from GET /api/admin/api-key-status/ at sign-in, then as `status` events on the SSE
 * stream (or from polling while the stream is down). Typed key events feed the live list and
 * nudge the trend charts between usage-report refreshes.
 *
 * Streaming. EventSource cannot send an Authorization header, so the stream is read with
 * fetch() and a ReadableStream and parsed here. A dropped or silent stream is retried with
 * exponential backoff and jitter; until it is back, the status endpoint is polled.
 *
 * Safety. Every piece of server data reaches the DOM through textContent or setAttribute,
 * never through HTML parsing, and the admin token lives in sessionStorage only.
 */
'use strict';

(() => {
  const TOKEN_STORAGE_KEY = 'keypool.adminToken';
  const FEED_CAP = 100;
  /** Identical events closer together than this are shown once with a count. */
  const REPEAT_FOLD_MS = 30000;
  const POLL_INTERVAL_MS = 5000;
  /** The server pings every 15 s; three missed pings mean the stream is dead even if TCP says otherwise. */
  const STREAM_SILENCE_LIMIT_MS = 45000;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const REPORT_REFRESH_LIVE_MS = 60000;
  const REPORT_REFRESH_POLLING_MS = 15000;
  const TREND_MINUTES = 60;
  const WARN_PERCENT = 80;
  const FULL_PERCENT = 100;

  const REQUEST_EVENT_TYPES = new Set(['key_acquired', 'usage_committed', 'reservation_released', 'keyless_called']);
  const STATUS_LABELS = { active: 'Active', cooling_down: 'Cooling down', deactivated: 'Deactivated' };
  const SETUP_SAMPLE = [
    '# .env next to the gateway (or --env-file PATH)',
    'OPENAI_API_KEYS=sk-...,sk-...',
    'OPENAI_MODEL_0=gpt-4o',
    'OPENAI_MAX_TOKENS_PER_MINUTE_0=90000',
    'OPENAI_MAX_TOKENS_PER_DAY_0=2000000',
    'GEMINI_API_KEYS=AIza...,AIza...',
    'SERP_API_KEYS=...',
  ].join('\n');

  const numberFormat = new Intl.NumberFormat();
  const compactFormat = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
  const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const minuteFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- state

  const state = {
    token: null,
    info: null,
    status: null,
    /** server clock minus browser clock, so countdowns do not depend on the browser's clock being right */
    clockOffsetMs: 0,
    statusReceivedAt: 0,
    /** provider -> Map(minute epoch ms -> {tokens, requests, failures}) */
    history: new Map(),
    reportFetchedAt: 0,
    events: [],
    streamLive: false,
    streamController: null,
    streamFailures: 0,
    reconnectTimer: null,
    silenceTimer: null,
    pollTimer: null,
    tickTimer: null,
    lastTrendMinute: 0,
    countdownRefreshAt: 0,
    cards: new Map(),
    sections: new Map(),
    rows: new Map(),
    alertItems: new Map(),
  };

  class AuthError extends Error {}

  // ---------------------------------------------------------------- DOM helpers

  /** Creates an element; strings among the children become text nodes, so data is never parsed as HTML. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  /** Moves node right after previous (or to the front) only when it is not already there, so focus survives updates. */
  function placeAfter(container, node, previous) {
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (expected !== node) container.insertBefore(node, expected);
  }

  /**
   * Keeps `container`'s children in the order of `items`, one element per item id, without
   * rebuilding what is already there (focus, hover and transitions survive a refresh): an element is
   * made by `create` the first time its id is seen, updated by `update` on every call, and removed,
   * with its `cache` entry, once its id is gone. `owns(id)` says which of the cache's entries belong
   * to this container (the key rows of every provider share one cache); `removed(id)` runs after one
   * goes.
   */
  function reconcile(container, cache, items, { id, create, node, update, owns = () => true, removed = () => {} }) {
    const seen = new Set();
    let previous = null;
    for (const item of items) {
      const itemId = id(item);
      seen.add(itemId);
      let entry = cache.get(itemId);
      if (!entry) {
        entry = create(item);
        cache.set(itemId, entry);
      }
      placeAfter(container, node(entry), previous);
      previous = node(entry);
      update(entry, item);
    }
    for (const [itemId, entry] of [...cache]) {
      if (owns(itemId) && !seen.has(itemId)) {
        node(entry).remove();
        cache.delete(itemId);
        removed(itemId);
      }
    }
  }

  function setText(node, text) {
    const value = text === null || text === undefined ? '' : String(text);
    if (node.textContent !== value) node.textContent = value;
  }

  // The providers in the gateway's order, with their names, as GET /api/admin/info lists them.
  function knownProviders() {
    return (state.info && Array.isArray(state.info.providers)) ? state.info.providers : [];
  }

  function providerName(provider) {
    const known = knownProviders().find((p) => p.id === provider);
    return known ? known.name : provider.charAt(0).toUpperCase() + provider.slice(1);
  }

  function unitOf(provider) {
    return provider === 'serp' ? 'searches' : 'tokens';
  }

  // SerpApi's request limits count searches, like its token limits.
  function requestUnitOf(provider) {
    return provider === 'serp' ? 'searches' : 'requests';
  }

  function formatInt(n) {
    return typeof n === 'number' && Number.isFinite(n) ? numberFormat.format(n) : '—';
  }

  function formatCompact(n) {
    return typeof n === 'number' && Number.isFinite(n) ? compactFormat.format(n) : '—';
  }

  /** Rounds down so that "100%" only ever means the limit is reached. */
  function formatPercent(p) {
    if (p <= 0) return '0%';
    if (p < 0.1) return '<0.1%';
    if (p < 10) return (Math.floor(p * 10) / 10).toFixed(1) + '%';
    return Math.floor(p) + '%';
  }

  function formatDuration(totalSeconds) {
    const s = Math.max(0, Math.ceil(totalSeconds));
    const hours = Math.floor(s / 3600);
    const minutes = Math.floor((s % 3600) / 60);
    const seconds = String(s % 60).padStart(2, '0');
    return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
  }

  function formatTime(ms) {
    return timeFormat.format(new Date(ms));
  }

  function serverNow() {
    return Date.now() + state.clockOffsetMs;
  }

  function parseTime(value) {
    if (typeof value === 'number') return value;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? null : ms;
  }

  let toastTimer = null;
  function toast(message, isError) {
    const node = $('toast');
    setText(node, message);
    node.classList.toggle('error', Boolean(isError));
    node.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => node.classList.remove('show'), 4000);
  }

  // ---------------------------------------------------------------- HTTP

  async function api(path, options = {}) {
    const headers = { Authorization: `Bearer ${state.token}`, Accept: 'application/json' };
    const init = { method: options.method || 'GET', headers, cache: 'no-store' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    if (response.status === 401) throw new AuthError('unauthorized');
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const message = data && data.error && data.error.message;
      throw new Error(message || `HTTP ${response.status}`);
    }
    return data;
  }

  const fetchStatus = () => api('/api/admin/api-key-status/');
  const fetchReport = () => api('/api/admin/api-key-usage-report/');
  const fetchInfo = () => api('/api/admin/info');

  // ---------------------------------------------------------------- sign-in

  function showLogin(message) {
    $('dashboard-view').hidden = true;
    $('session-controls').hidden = true;
    $('login-view').hidden = false;
    const error = $('login-error');
    error.hidden = !message;
    setText(error, message || '');
    const input = $('token-input');
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    input.focus();
  }

  function showDashboard() {
    $('login-view').hidden = true;
    $('dashboard-view').hidden = false;
    $('session-controls').hidden = false;
  }

  async function signIn(token, fromStorage) {
    state.token = token;
    const button = $('login-button');
    button.disabled = true;
    setText(button, 'Signing in…');
    try {
      // Status decides whether the token is good; info only adds the set-up hint and version.
      const [status, info] = await Promise.all([
        fetchStatus(),
        fetchInfo().catch((e) => {
          if (e instanceof AuthError) throw e;
          return null;
        }),
      ]);
      sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
      state.info = info;
      $('reload-env').hidden = !(info && info.reload_available);
      showDashboard();
      applyStatus(status);
      refreshReport();
      connectStream();
      state.tickTimer = setInterval(tick, 1000);
      $('main').focus({ preventScroll: true });
    } catch (e) {
      state.token = null;
      if (e instanceof AuthError) {
        sessionStorage.removeItem(TOKEN_STORAGE_KEY);
        showLogin(fromStorage
          ? 'The saved admin token is no longer accepted. Sign in again.'
          : 'That admin token was not accepted. Check KEYPOOL_ADMIN_TOKEN and try again.');
      } else {
        showLogin(`Could not reach the gateway (${e.message}). Is it running?`);
      }
    } finally {
      button.disabled = false;
      setText(button, 'Sign in');
    }
  }

  function signOut(message) {
    stopStream();
    clearInterval(state.tickTimer);
    stopPolling();
    sessionStorage.removeItem(TOKEN_STORAGE_KEY);
    Object.assign(state, {
      token: null, info: null, status: null, events: [], streamFailures: 0, tickTimer: null,
      reportFetchedAt: 0, lastTrendMinute: 0,
    });
    state.history.clear();
    state.cards.clear();
    state.sections.clear();
    state.rows.clear();
    state.alertItems.clear();
    $('provider-cards').replaceChildren();
    $('provider-sections').replaceChildren();
    $('alerts').replaceChildren();
    $('event-feed').replaceChildren();
    $('feed-empty').hidden = false;
    $('demo-banner').hidden = true;
    $('token-input').value = '';
    showLogin(message);
  }

  function onAuthLost() {
    signOut('The admin token was rejected (it may have changed on restart). Sign in again.');
  }

  // ---------------------------------------------------------------- live stream

  function setConnection(connState, text) {
    const conn = $('conn');
    conn.dataset.state = connState;
    conn.title = '';
    setText($('conn-text'), text);
  }

  function stopStream() {
    const controller = state.streamController;
    state.streamController = null;
    state.streamLive = false;
    clearTimeout(state.reconnectTimer);
    clearTimeout(state.silenceTimer);
    if (controller) controller.abort();
  }

  function armSilenceTimer(controller) {
    clearTimeout(state.silenceTimer);
    state.silenceTimer = setTimeout(() => controller.abort(), STREAM_SILENCE_LIMIT_MS);
  }

  async function connectStream() {
    if (!state.token) return;
    const controller = new AbortController();
    state.streamController = controller;
    setConnection(state.streamFailures ? 'reconnecting' : 'connecting',
      state.streamFailures ? 'Reconnecting…' : 'Connecting…');
    try {
      armSilenceTimer(controller);
      const response = await fetch('/api/admin/events', {
        headers: { Authorization: `Bearer ${state.token}`, Accept: 'text/event-stream' },
        cache: 'no-store',
        signal: controller.signal,
      });
      if (response.status === 401) throw new AuthError('unauthorized');
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onStreamOpen();
      await readEventStream(response.body, () => armSilenceTimer(controller), dispatchStreamEvent);
      throw new Error('stream closed');
    } catch (e) {
      if (state.streamController !== controller) return; // signed out or superseded
      if (e instanceof AuthError) {
        onAuthLost();
        return;
      }
      onStreamDown();
    }
  }

  function onStreamOpen() {
    state.streamLive = true;
    state.streamFailures = 0;
    stopPolling();
    setConnection('live', 'Live');
    // Events may have been missed while disconnected; the server pushes status on connect, the report we fetch.
    refreshReport();
  }

  function onStreamDown() {
    clearTimeout(state.silenceTimer);
    state.streamLive = false;
    state.streamFailures += 1;
    startPolling();
    const exponential = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** (state.streamFailures - 1));
    const delay = Math.round(exponential * (0.8 + Math.random() * 0.4));
    setConnection('polling', `Polling every ${POLL_INTERVAL_MS / 1000} s`);
    $('conn').title = `The live feed is down; reconnecting with backoff (attempt ${state.streamFailures}).`;
    clearTimeout(state.reconnectTimer);
    state.reconnectTimer = setTimeout(connectStream, delay);
  }

  /** A Server-Sent Events parser (WHATWG "event stream interpretation") over a fetch body. */
  async function readEventStream(body, onBytes, onEvent) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let eventType = '';
    let dataLines = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      onBytes();
      buffer += value;
      for (;;) {
        const breakAt = buffer.search(/[\r\n]/);
        if (breakAt < 0) break;
        // A trailing CR may be the first half of a CRLF split across chunks.
        if (buffer[breakAt] === '\r' && breakAt === buffer.length - 1) break;
        const line = buffer.slice(0, breakAt);
        buffer = buffer.slice(breakAt + (buffer[breakAt] === '\r' && buffer[breakAt + 1] === '\n' ? 2 : 1));
        if (line === '') {
          if (dataLines.length) onEvent(eventType || 'message', dataLines.join('\n'));
          eventType = '';
          dataLines = [];
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let fieldValue = colon < 0 ? '' : line.slice(colon + 1);
          if (fieldValue.startsWith(' ')) fieldValue = fieldValue.slice(1);
          if (field === 'event') eventType = fieldValue;
          else if (field === 'data') dataLines.push(fieldValue);
        }
      }
    }
  }

  function dispatchStreamEvent(type, data) {
    let payload;
    try {
      payload = JSON.parse(data);
    } catch {
      return;
    }
    if (type === 'status') {
      applyStatus(payload);
      return;
    }
    const event = Object.assign({}, payload, { type: payload.type || type });
    addEvent(event);
    applyKeyEvent(event);
  }

  /**
   * The server pushes the full status at most once a second; a state change named by an event is
   * shown at once, and the next status push confirms or corrects it.
   */
  function applyKeyEvent(event) {
    const next = { key_cooled_down: 'cooling_down', key_deactivated: 'deactivated', key_reactivated: 'active' }[event.type];
    if (!next || event.index === null || event.index === undefined) return;
    const entry = state.rows.get(`${event.provider}/${event.index}`);
    if (!entry || !entry.refs.key) return;
    const key = Object.assign({}, entry.refs.key, { status: next });
    if (next === 'active') {
      Object.assign(key, { reason: null, failure_kind: null, available_at: null, available_in_seconds: null });
    } else {
      Object.assign(key, {
        reason: event.reason || key.reason, failure_kind: event.kind || key.failure_kind,
        available_at: event.until || null, available_in_seconds: null,
      });
    }
    updateKeyRow(event.provider, entry, key);
  }

  // ---------------------------------------------------------------- polling fallback

  function startPolling() {
    if (state.pollTimer) return;
    state.pollTimer = setInterval(pollOnce, POLL_INTERVAL_MS);
    pollOnce();
  }

  function stopPolling() {
    clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  async function pollOnce() {
    try {
      applyStatus(await fetchStatus());
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
      else if (!state.streamLive) setConnection('offline', 'Offline · retrying');
    }
  }

  async function refreshStatusSoon() {
    try {
      applyStatus(await fetchStatus());
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
    }
  }

  // ---------------------------------------------------------------- status

  function providerEntries(status) {
    const providers = (status && status.providers) || {};
    const names = Object.keys(providers);
    const order = knownProviders().map((p) => p.id);
    names.sort((a, b) => {
      const ia = order.indexOf(a);
      const ib = order.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
    });
    return names.map((name) => [name, providers[name] || {}]);
  }

  function applyStatus(status) {
    if (!status || !state.token) return;
    if (typeof status.server_time_millis === 'number') state.clockOffsetMs = status.server_time_millis - Date.now();
    if (!state.streamLive && state.status) synthesizeEvents(state.status, status);
    state.status = status;
    state.statusReceivedAt = Date.now();

    const demo = Boolean(status.demo || (state.info && state.info.demo));
    $('demo-banner').hidden = !demo;
    document.body.classList.toggle('demo', demo);

    const entries = providerEntries(status);
    const keyCount = entries.reduce((sum, [, p]) => sum + ((p.keys && p.keys.length) || 0), 0);
    renderEmptyState(keyCount === 0);
    $('reset-all').disabled = !entries.some(([, p]) => (p.keys || []).some((k) => k.status !== 'active'));
    renderCards(entries);
    renderSections(entries);
    renderAlerts(status.alerts || []);
    renderLastReload(status.last_reload);
    const generated = parseTime(status.generated_at) || serverNow();
    setText($('updated'), `Updated ${formatTime(generated)}`);
  }

  /** While polling there is no event stream, so state changes seen between two polls become feed items. */
  function synthesizeEvents(previous, next) {
    const before = new Map();
    for (const [provider, p] of providerEntries(previous)) {
      for (const key of p.keys || []) before.set(`${provider}/${key.index}`, key.status);
    }
    for (const [provider, p] of providerEntries(next)) {
      for (const key of p.keys || []) {
        const was = before.get(`${provider}/${key.index}`);
        if (!was || was === key.status) continue;
        const type = key.status === 'active' ? 'key_reactivated'
          : key.status === 'cooling_down' ? 'key_cooled_down' : 'key_deactivated';
        addEvent({
          type, provider, index: key.index, masked_key: key.masked_key, time: next.generated_at,
          reason: key.reason, until: key.available_at, polled: true,
        });
      }
    }
  }

  function renderEmptyState(noKeys) {
    const section = $('no-keys-hint');
    section.hidden = !noKeys;
    if (!noKeys) return;
    const hint = state.info && state.info.setup_hint;
    setText($('setup-hint'), hint || 'Add keys to a .env file next to the gateway, then press Reload .env.');
    setText($('setup-sample'), SETUP_SAMPLE);
  }

  // ---------------------------------------------------------------- provider cards

  function providerHealth(provider, p) {
    if (provider === 'ollama' || (p.keys && p.keys.length === 0 && 'available' in p)) {
      return p.available ? ['ok', 'Reachable'] : ['idle', 'Not reachable'];
    }
    const total = p.total_keys ?? (p.keys ? p.keys.length : 0);
    const active = p.active_keys ?? 0;
    if (total === 0) return ['idle', 'No keys'];
    if (active === 0) return ['down', 'No usable key'];
    if (active < total) return ['degraded', 'Degraded'];
    return ['ok', 'Healthy'];
  }

  function stat(label, valueNode) {
    return el('div', { class: 'stat' }, el('dt', null, label), valueNode);
  }

  function createCard(provider) {
    const refs = {
      health: el('span', { class: 'health-pill' }),
      active: el('dd', { 'data-testid': 'active-keys' }),
      activeLabel: el('dt'),
      tokens: el('dd'),
      tokensLabel: el('dt'),
      requests: el('dd'),
      errorRate: el('dd'),
      waiting: el('dd', { 'data-testid': `waiting-${provider}` }),
      waitingStat: null,
      note: el('p', { class: 'card-note muted' }),
    };
    refs.waitingStat = el('div', { class: 'stat' }, el('dt', {}, 'Waiting'), refs.waiting);
    refs.waitingStat.hidden = true;
    const card = el('article', { class: 'card', 'data-testid': `provider-card-${provider}`, 'aria-labelledby': `card-title-${provider}` },
      el('header', { class: 'card-head' },
        el('h2', { id: `card-title-${provider}` }, providerName(provider)),
        refs.health),
      el('dl', { class: 'stats' },
        el('div', { class: 'stat' }, refs.activeLabel, refs.active),
        el('div', { class: 'stat' }, refs.tokensLabel, refs.tokens),
        stat('Requests', refs.requests),
        stat('Error rate', refs.errorRate),
        refs.waitingStat),
      refs.note);
    return { card, refs };
  }

  function renderCards(entries) {
    reconcile($('provider-cards'), state.cards, entries, {
      id: ([provider]) => provider,
      create: ([provider]) => createCard(provider),
      node: (entry) => entry.card,
      update: updateCard,
    });
  }

  function updateCard(entry, [provider, p]) {
    const { card, refs } = entry;
    const [health, healthText] = providerHealth(provider, p);
    card.dataset.health = health;
    setText(refs.health, healthText);
    const keyless = provider === 'ollama';
    if (keyless) {
      setText(refs.activeLabel, 'Keys');
      setText(refs.active, 'keyless');
    } else {
      const total = p.total_keys ?? (p.keys ? p.keys.length : 0);
      setText(refs.activeLabel, 'Active keys');
      setText(refs.active, `${p.active_keys ?? 0}/${total}`);
    }
    setText(refs.tokensLabel, provider === 'serp' ? 'Searches today' : 'Tokens today');
    setText(refs.tokens, formatCompact(p.tokens_today));
    refs.tokens.title = typeof p.tokens_today === 'number' ? formatInt(p.tokens_today) : '';
    setText(refs.requests, formatCompact(p.requests));
    refs.requests.title = typeof p.requests === 'number' ? formatInt(p.requests) : '';
    const rate = typeof p.error_rate === 'number' && p.requests ? p.error_rate * 100 : null;
    setText(refs.errorRate, rate === null ? '—' : `${rate < 10 && rate > 0 ? rate.toFixed(1) : Math.round(rate)}%`);
    refs.errorRate.classList.toggle('bad', rate !== null && rate >= 10);
    renderWaiting(refs, p.waiting);
    let note = '';
    if (keyless) note = p.host ? `Local models at ${p.host}` : 'Local models, no key needed';
    else if (!(p.total_keys ?? (p.keys && p.keys.length))) note = `Set ${provider.toUpperCase()}_API_KEYS to use it.`;
    setText(refs.note, note);
    refs.note.hidden = !note;
  }

  /**
   * The requests waiting for the provider's keys (KEYPOOL_MAX_WAIT_SECONDS), shown only when requests
   * may wait: the queue's length against its bound, and the last waits in the tooltip.
   */
  function renderWaiting(refs, waiting) {
    refs.waitingStat.hidden = !waiting;
    if (!waiting) return;
    setText(refs.waiting, `${formatInt(waiting.queue_length)}/${formatInt(waiting.max_queue)}`);
    const waits = Array.isArray(waiting.recent_waits_millis) ? waiting.recent_waits_millis : [];
    refs.waiting.title = waits.length
      ? `Last waits: ${waits.map((ms) => ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`).join(', ')}`
        + ` (at most ${waiting.max_wait_seconds} s)`
      : `Nothing has waited yet (at most ${waiting.max_wait_seconds} s)`;
    refs.waiting.classList.toggle('bad', waiting.queue_length > 0 && waiting.queue_length >= waiting.max_queue);
  }

  // ---------------------------------------------------------------- provider sections, key rows

  function hasHistory(provider) {
    const buckets = state.history.get(provider);
    return Boolean(buckets && buckets.size);
  }

  function wantsSection(provider, p) {
    if (p.keys && p.keys.length) return true;
    if (provider === 'ollama') return Boolean(p.available) || hasHistory(provider);
    return hasHistory(provider);
  }

  function createSection(provider) {
    const titleId = `section-title-${provider}`;
    const refs = {
      summary: el('span', { class: 'section-summary muted' }),
      resetProvider: el('button', {
        type: 'button', class: 'btn btn-secondary btn-small push-end',
        onclick: () => resetKeys({ provider }, `${providerName(provider)} keys`),
      }, 'Reset all'),
      chart: createTrendChart(provider),
      list: el('ul', { class: 'key-list', 'aria-label': `${providerName(provider)} keys` }),
      keyless: el('p', { class: 'muted keyless-note' }),
    };
    refs.resetProvider.setAttribute('aria-label', `Reset all ${providerName(provider)} keys`);
    const section = el('section', { class: 'panel provider-section', id: `provider-${provider}`, 'aria-labelledby': titleId },
      el('div', { class: 'panel-head' },
        el('h2', { id: titleId }, providerName(provider)),
        refs.summary,
        refs.resetProvider),
      refs.chart.root,
      refs.keyless,
      refs.list);
    return { section, refs };
  }

  function renderSections(entries) {
    reconcile($('provider-sections'), state.sections, entries.filter(([provider, p]) => wantsSection(provider, p)), {
      id: ([provider]) => provider,
      create: ([provider]) => createSection(provider),
      node: (entry) => entry.section,
      update: updateSection,
      removed: (provider) => {
        for (const rowKey of [...state.rows.keys()]) {
          if (rowKey.startsWith(`${provider}/`)) state.rows.delete(rowKey);
        }
      },
    });
  }

  function updateSection(entry, [provider, p]) {
    const keys = p.keys || [];
    const { refs } = entry;
    const keyed = keys.length > 0;
    refs.resetProvider.hidden = !keyed;
    refs.resetProvider.disabled = keys.every((k) => k.status === 'active');
    refs.list.hidden = !keyed;
    refs.keyless.hidden = keyed;
    if (keyed) {
      setText(refs.summary, `${p.active_keys ?? 0} of ${p.total_keys ?? keys.length} keys active`);
    } else {
      setText(refs.summary, provider === 'ollama' ? 'keyless' : 'no keys');
      setText(refs.keyless, provider === 'ollama'
        ? `Keyless local provider${p.host ? ` at ${p.host}` : ''}: ${p.available ? 'reachable' : 'not reachable'}.`
        : 'No keys configured.');
    }
    renderKeyRows(provider, keys, refs.list);
    renderTrend(provider);
  }

  function createUsage(windowName, label) {
    const fill = el('span', { class: 'bar-fill' });
    const bar = el('div', {
      class: 'bar', 'data-testid': `${windowName}-bar`, role: 'progressbar',
      'aria-valuemin': 0, 'aria-valuemax': 100,
    }, fill);
    const percent = el('span', { class: 'usage-percent', 'data-testid': `${windowName}-percent` });
    const detail = el('span', { class: 'usage-detail' });
    const root = el('div', { class: `usage usage-${windowName}` },
      el('div', { class: 'usage-head' }, el('span', { class: 'usage-label' }, label), percent),
      bar,
      detail);
    return { root, bar, fill, percent, detail, label };
  }

  function createKeyRow(provider, index) {
    const refs = {
      index: el('span', { class: 'key-index' }, `#${index}`),
      masked: el('code', { class: 'masked-key', 'data-testid': 'masked-key' }),
      model: el('span', { class: 'key-model' }),
      load: el('span', { class: 'key-load', 'data-testid': 'key-load' }),
      status: el('span', { class: 'status-badge', 'data-testid': 'key-status' }),
      statusText: document.createTextNode(''),
      countdown: el('span', { class: 'countdown', 'data-testid': 'countdown' }),
      reason: el('span', { class: 'key-reason' }),
      minute: createUsage('minute', 'Minute'),
      day: createUsage('day', 'Day'),
      requestMinute: createUsage('request-minute', 'Requests / minute'),
      requestDay: createUsage('request-day', 'Requests / day'),
      reset: el('button', { type: 'button', class: 'btn btn-secondary btn-small', 'data-testid': 'reset-button' }, 'Reset'),
      deactivate: el('button', { type: 'button', class: 'btn btn-danger-outline btn-small', 'data-testid': 'deactivate-button' }, 'Deactivate'),
      key: null,
    };
    refs.status.append(el('span', { class: 'status-dot', 'aria-hidden': 'true' }), refs.statusText, refs.countdown);
    refs.reset.addEventListener('click', () => resetKeys({ provider, index }, `${providerName(provider)} key #${index}`, refs.reset));
    refs.deactivate.addEventListener('click', () => askDeactivate(provider, index, refs.key));
    const row = el('li', { class: 'key-row', 'data-testid': `key-row-${provider}-${index}` },
      el('div', { class: 'key-id' },
        el('div', { class: 'key-id-line' }, refs.index, refs.masked),
        refs.model, refs.load),
      el('div', { class: 'key-state' }, refs.status, refs.reason),
      el('div', { class: 'key-usage' },
        el('div', { class: 'usage-window usage-minute' }, refs.minute.root, refs.requestMinute.root),
        el('div', { class: 'usage-window usage-day' }, refs.day.root, refs.requestDay.root)),
      el('div', { class: 'key-actions' }, refs.reset, refs.deactivate));
    return { row, refs };
  }

  function renderKeyRows(provider, keys, list) {
    reconcile(list, state.rows, keys, {
      id: (key) => `${provider}/${key.index}`,
      create: (key) => createKeyRow(provider, key.index),
      node: (entry) => entry.row,
      update: (entry, key) => updateKeyRow(provider, entry, key),
      owns: (rowKey) => rowKey.startsWith(`${provider}/`),
    });
  }

  function availableAtMs(key) {
    const at = parseTime(key.available_at);
    if (at !== null) return at;
    if (typeof key.available_in_seconds === 'number') {
      return state.statusReceivedAt + state.clockOffsetMs + key.available_in_seconds * 1000;
    }
    return null;
  }

  function updateKeyRow(provider, entry, key) {
    const { row, refs } = entry;
    refs.key = key;
    const status = key.status || 'active';
    row.dataset.status = status;
    setText(refs.masked, key.masked_key || '(hidden)');
    setText(refs.model, key.model ? key.model : 'default model');
    setText(refs.load, loadText(key));
    refs.status.className = `status-badge status-${status}`;
    setText(refs.statusText, STATUS_LABELS[status] || status.replace(/_/g, ' '));
    refs.countdown.hidden = status !== 'cooling_down';

    let reason = '';
    if (status === 'deactivated') {
      reason = key.reason || (key.failure_kind ? key.failure_kind.replace(/_/g, ' ') : 'deactivated');
      const until = availableAtMs(key);
      if (until !== null) reason += ` · until ${minuteFormat.format(new Date(until))}`;
    } else if (status === 'cooling_down') {
      reason = key.reason || (key.failure_kind ? key.failure_kind.replace(/_/g, ' ') : '');
    }
    setText(refs.reason, reason);
    refs.reason.hidden = !reason;
    refs.reason.title = reason;

    updateUsage(refs.minute, key.tokens_used_minute, key.max_tokens_per_minute, key.minute_usage_percent, provider);
    updateUsage(refs.day, key.tokens_used_day, key.max_tokens_per_day, key.day_usage_percent, provider);
    // Request limits are optional: their bars show only for a key that has one.
    updateUsage(refs.requestMinute, key.requests_used_minute, key.max_requests_per_minute,
      key.request_minute_usage_percent, provider, requestUnitOf(provider));
    refs.requestMinute.root.hidden = key.max_requests_per_minute === null || key.max_requests_per_minute === undefined;
    updateUsage(refs.requestDay, key.requests_used_day, key.max_requests_per_day,
      key.request_day_usage_percent, provider, requestUnitOf(provider));
    refs.requestDay.root.hidden = key.max_requests_per_day === null || key.max_requests_per_day === undefined;

    const who = `${providerName(provider)} key #${key.index} (${key.masked_key || 'masked'})`;
    refs.reset.disabled = status === 'active' || refs.reset.dataset.busy === 'true';
    refs.reset.setAttribute('aria-label', `Reset ${who}`);
    refs.reset.title = status === 'active' ? 'The key is active; nothing to reset' : 'Reactivate this key now';
    refs.deactivate.disabled = status === 'deactivated';
    refs.deactivate.setAttribute('aria-label', `Deactivate ${who}`);
    updateCountdown(entry);
  }

  // Requests in flight on the key in this gateway, of its cap when it has one, and its weight.
  function loadText(key) {
    const inFlight = typeof key.requests_in_flight === 'number' ? key.requests_in_flight : 0;
    const cap = typeof key.max_concurrent === 'number' ? ` of ${key.max_concurrent}` : '';
    const weight = typeof key.weight === 'number' ? ` · weight ${key.weight}` : '';
    return `${inFlight}${cap} in flight${weight}`;
  }

  function updateUsage(usage, used, limit, percent, provider, unitName) {
    const unlimited = limit === null || limit === undefined;
    let p = null;
    if (!unlimited) {
      p = typeof percent === 'number' ? percent : limit > 0 ? ((used || 0) / limit) * 100 : 0;
    }
    usage.bar.dataset.percent = p === null ? '' : String(Math.round(p * 100) / 100);
    usage.bar.classList.toggle('unlimited', unlimited);
    usage.bar.classList.toggle('warn', p !== null && p > WARN_PERCENT);
    usage.bar.classList.toggle('full', p !== null && p >= FULL_PERCENT);
    usage.fill.style.width = p === null ? '0%' : `${Math.min(100, Math.max(0, p))}%`;
    const unit = unitName || unitOf(provider);
    if (unlimited) {
      setText(usage.percent, 'unlimited');
      setText(usage.detail, `${formatInt(used || 0)} ${unit} used`);
      usage.bar.removeAttribute('aria-valuenow');
      usage.bar.setAttribute('aria-valuetext', `unlimited, ${formatInt(used || 0)} ${unit} used`);
    } else {
      setText(usage.percent, formatPercent(p));
      setText(usage.detail, `${formatCompact(used || 0)} / ${formatCompact(limit)} ${unit}`);
      usage.detail.title = `${formatInt(used || 0)} of ${formatInt(limit)} ${unit}`;
      usage.bar.setAttribute('aria-valuenow', String(Math.min(100, Math.round(p * 10) / 10)));
      usage.bar.setAttribute('aria-valuetext', `${formatPercent(p)}, ${formatInt(used || 0)} of ${formatInt(limit)} ${unit}`);
    }
    usage.bar.setAttribute('aria-label', `${usage.label} window usage`);
  }

  function updateCountdown(entry) {
    const key = entry.refs.key;
    if (!key || key.status !== 'cooling_down') return;
    const until = availableAtMs(key);
    if (until === null) {
      setText(entry.refs.countdown, '');
      return;
    }
    const remaining = (until - serverNow()) / 1000;
    setText(entry.refs.countdown, remaining > 0 ? formatDuration(remaining) : 'ending…');
    entry.refs.countdown.title = `Usable again at ${formatTime(until)}`;
    // The server may not announce a cool-down that simply ran out, so ask once it should have.
    if (remaining <= -1 && Date.now() - state.countdownRefreshAt > 5000) {
      state.countdownRefreshAt = Date.now();
      refreshStatusSoon();
    }
  }

  // ---------------------------------------------------------------- actions

  async function resetKeys(target, what, button) {
    if (button) {
      button.dataset.busy = 'true';
      button.disabled = true;
    }
    try {
      // An empty body resets every cooling or deactivated key; a provider (and index) narrows it.
      const result = await api('/api/admin/api-key-reset/', target ? { method: 'POST', body: target } : { method: 'POST' });
      const count = result && Array.isArray(result.reset) ? result.reset.length : 0;
      toast(count ? `Reset ${what}: ${count} key${count === 1 ? '' : 's'} reactivated.` : `Nothing to reset for ${what}.`);
      await refreshStatusSoon();
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
      else toast(`Reset failed: ${e.message}`, true);
    } finally {
      if (button) {
        delete button.dataset.busy;
        const key = state.rows.get(`${target.provider}/${target.index}`);
        if (key && key.refs.key) button.disabled = key.refs.key.status === 'active';
        else button.disabled = false;
      }
    }
  }

  /** What a reload changed, in a line: "openai +1 −1 ~1 · restart required: KEYPOOL_PORT", or why it was refused. */
  function describeReload(reload) {
    if (!reload) return '';
    if (reload.outcome === 'refused') {
      return `refused, nothing changed: ${(reload.errors || []).join('; ')}`;
    }
    const changes = reload.changes || {};
    const parts = [];
    for (const [provider, c] of Object.entries(changes.providers || {})) {
      const added = (c.added || []).length;
      const removed = (c.removed || []).length;
      const changed = (c.kept || []).filter((k) => (k.changed || []).length > 0).length;
      if (added || removed || changed) {
        parts.push(`${providerName(provider)} ${[added ? `+${added}` : '', removed ? `−${removed}` : '',
          changed ? `~${changed}` : ''].filter(Boolean).join(' ')}`);
      }
    }
    const restart = changes.restart_required || [];
    return [parts.length ? parts.join(', ') : 'no key changed',
      restart.length ? `restart required: ${restart.join(', ')}` : ''].filter(Boolean).join(' · ');
  }

  function renderLastReload(reload) {
    const node = $('reload-status');
    node.hidden = !reload;
    if (!reload) return;
    const at = parseTime(reload.at);
    node.dataset.outcome = reload.outcome;
    setText(node, `Last reload${at !== null ? ` at ${formatTime(at)}` : ''}: ${describeReload(reload)}`);
  }

  async function reloadEnv() {
    const button = $('reload-env');
    button.disabled = true;
    try {
      const result = await api('/api/admin/reload', { method: 'POST' });
      toast(`Reloaded .env: ${describeReload({ outcome: 'applied', changes: result })}`);
      await refreshStatusSoon();
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
      else {
        toast(`Reload refused: ${e.message}`, true);
        await refreshStatusSoon();
      }
    } finally {
      button.disabled = false;
    }
  }

  let pendingDeactivation = null;
  function askDeactivate(provider, index, key) {
    pendingDeactivation = { provider, index };
    setText($('deactivate-text'),
      `${providerName(provider)} key #${index} (${(key && key.masked_key) || 'masked'}) will not be used until it is reset.`);
    $('deactivate-reason').value = '';
    $('deactivate-dialog').showModal();
  }

  async function deactivate({ provider, index }, reason) {
    try {
      const path = `/api/admin/keys/${encodeURIComponent(provider)}/${encodeURIComponent(index)}/deactivate`;
      await api(path, reason ? { method: 'POST', body: { reason } } : { method: 'POST' });
      toast(`${providerName(provider)} key #${index} deactivated.`);
      await refreshStatusSoon();
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
      else toast(`Deactivation failed: ${e.message}`, true);
    }
  }

  // ---------------------------------------------------------------- alerts

  function renderAlerts(alerts) {
    const list = $('alerts');
    const sorted = [...alerts].sort((a, b) => (a.level === 'critical' ? 0 : 1) - (b.level === 'critical' ? 0 : 1));
    const seen = new Set();
    let previous = null;
    for (const alert of sorted) {
      const id = `${alert.level}|${alert.provider}|${alert.index}|${alert.message}`;
      seen.add(id);
      let item = state.alertItems.get(id);
      if (!item) {
        item = createAlert(alert);
        state.alertItems.set(id, item);
      }
      placeAfter(list, item, previous);
      previous = item;
    }
    for (const [id, item] of state.alertItems) {
      if (!seen.has(id)) {
        item.remove();
        state.alertItems.delete(id);
      }
    }
    let empty = list.querySelector('.alerts-empty');
    if (sorted.length === 0 && !empty) {
      empty = el('li', { class: 'alerts-empty muted' }, 'No alerts. Every key is usable and below 80% of its limits.');
      list.append(empty);
    } else if (sorted.length > 0 && empty) {
      empty.remove();
    }
    const counter = $('alerts-count');
    setText(counter, String(sorted.length));
    counter.dataset.level = sorted.some((a) => a.level === 'critical') ? 'critical' : sorted.length ? 'warning' : 'none';
  }

  function createAlert(alert) {
    const level = alert.level === 'critical' ? 'critical' : 'warning';
    const message = alert.message || '';
    // The server's messages usually name the key already; add a subject only when they do not.
    const named = alert.provider && message.toLowerCase().includes(String(alert.provider).toLowerCase());
    const subject = !alert.provider || named ? null
      : `${providerName(alert.provider)}${alert.index === null || alert.index === undefined ? '' : ` key #${alert.index}`}`;
    return el('li', { class: `alert alert-${level}`, 'data-testid': 'alert', 'data-level': level },
      el('span', { class: 'alert-level' }, level === 'critical' ? 'Critical' : 'Warning'),
      el('span', { class: 'alert-body' },
        subject ? el('strong', { class: 'alert-subject' }, subject) : null,
        subject ? ' ' : null,
        el('span', null, message)));
  }

  // ---------------------------------------------------------------- event feed

  function describeEvent(event) {
    const unit = unitOf(event.provider || '');
    const kind = event.kind ? String(event.kind).toLowerCase().replace(/_/g, ' ') : '';
    const total = event.total_tokens ?? (event.prompt_tokens != null || event.completion_tokens != null
      ? (event.prompt_tokens || 0) + (event.completion_tokens || 0) : event.tokens);
    const until = parseTime(event.until);
    switch (event.type) {
      case 'key_acquired':
        return ['Acquired', 'info', `reserved ${formatInt(event.tokens)} ${unit}${event.model ? ` for ${event.model}` : ''}`];
      case 'usage_committed':
        return ['Used', 'info', `${formatInt(total)} ${unit}${event.prompt_tokens != null ? ` (${formatInt(event.prompt_tokens)} in, ${formatInt(event.completion_tokens || 0)} out)` : ''}`];
      case 'reservation_released':
        return ['Released', 'info', `${formatInt(event.tokens)} ${unit} returned to the window`];
      case 'key_failed':
        return [event.failover === false ? 'Failed' : 'Failover', 'warning',
          [kind, event.message].filter(Boolean).join(': ') + (event.failover === false ? '' : ' · trying the next key')];
      case 'key_cooled_down':
        return ['Cooling down', 'warning',
          [until !== null ? `until ${formatTime(until)}` : '', event.reason || kind].filter(Boolean).join(' · ')
          + (event.polled ? ' (seen by polling)' : '')];
      case 'key_deactivated':
        return ['Deactivated', 'critical',
          [event.reason || kind || 'deactivated', event.by_admin ? 'by an admin' : ''].filter(Boolean).join(' · ')
          + (event.polled ? ' (seen by polling)' : '')];
      case 'key_reactivated':
        return ['Reactivated', 'ok',
          (event.by_admin ? 'reset by an admin' : event.polled ? 'usable again (seen by polling)' : 'usable again')];
      case 'keyless_called':
        return event.kind
          ? ['Failed', 'warning', `${event.model || ''} ${kind}`.trim()]
          : ['Served', 'info', `${formatInt(total)} ${unit}${event.model ? ` by ${event.model}` : ''}`];
      case 'keys_reloaded':
        return [event.outcome === 'refused' ? 'Reload refused' : 'Reloaded', event.outcome === 'refused' ? 'critical' : 'ok',
          describeReload(event)];
      case 'pool_exhausted':
        return ['Pool exhausted', 'critical', [
          event.message || (event.reason ? String(event.reason).replace(/_/g, ' ') : 'no usable key'),
          until !== null ? `next key free at ${formatTime(until)}` : 'callers get 429 with Retry-After',
        ].join(' · ')];
      default:
        return [String(event.type || 'event').replace(/_/g, ' '), 'info', event.message || ''];
    }
  }

  function isVisibleEvent(event) {
    return $('show-request-events').checked || !REQUEST_EVENT_TYPES.has(event.type);
  }

  function createEventItem(event) {
    const [label, tone, detail] = describeEvent(event);
    const at = parseTime(event.lastTime ?? event.time) ?? serverNow();
    const subject = [
      event.provider ? providerName(event.provider) : null,
      event.index === null || event.index === undefined ? null : `#${event.index}`,
    ].filter(Boolean).join(' ');
    return el('li', { class: `event event-${tone}`, 'data-testid': 'event-item', 'data-type': event.type },
      el('time', { class: 'event-time', datetime: new Date(at).toISOString() }, formatTime(at)),
      el('span', { class: 'event-label' }, label,
        event.repeats > 1 ? el('span', { class: 'event-repeats', title: `${event.repeats} times in a row` }, `×${event.repeats}`) : null),
      el('span', { class: 'event-subject' }, subject, event.masked_key ? ' ' : null,
        event.masked_key ? el('code', null, event.masked_key) : null),
      el('span', { class: 'event-detail', title: detail }, detail));
  }

  function eventSignature(event) {
    // Deliberately without times ("until"), which differ between otherwise identical repeats.
    return [event.type, event.provider, event.index, event.kind, event.reason, event.message].join('|');
  }

  /**
   * A saturated pool can repeat the same event many times a second; repeats within a short
   * window fold into the newest item as a "×N" count instead of pushing everything else out.
   */
  function foldsInto(previous, event) {
    if (!previous || eventSignature(previous) !== eventSignature(event)) return false;
    const gap = (parseTime(event.time) ?? serverNow()) - (parseTime(previous.lastTime ?? previous.time) ?? 0);
    return gap >= 0 && gap <= REPEAT_FOLD_MS;
  }

  function addEvent(event) {
    noteUsage(event);
    const visible = isVisibleEvent(event);
    const previous = visible ? state.events.find(isVisibleEvent) : null;
    if (foldsInto(previous, event)) {
      previous.repeats = (previous.repeats || 1) + 1;
      previous.lastTime = event.time;
      const feed = $('event-feed');
      if (feed.firstElementChild) feed.replaceChild(createEventItem(previous), feed.firstElementChild);
      return;
    }
    state.events.unshift(event);
    if (state.events.length > FEED_CAP * 3) state.events.length = FEED_CAP * 3;
    if (!visible) return;
    const feed = $('event-feed');
    feed.prepend(createEventItem(event));
    while (feed.children.length > FEED_CAP) feed.lastElementChild.remove();
    $('feed-empty').hidden = true;
  }

  function renderFeed() {
    // Every request would flood a screen reader; the live region announces notable events only.
    $('event-feed').setAttribute('aria-live', $('show-request-events').checked ? 'off' : 'polite');
    const items = state.events.filter(isVisibleEvent).slice(0, FEED_CAP).map(createEventItem);
    $('event-feed').replaceChildren(...items);
    $('feed-empty').hidden = items.length > 0;
  }

  // ---------------------------------------------------------------- trend charts

  function minuteOf(ms) {
    return Math.floor(ms / 60000) * 60000;
  }

  function bucket(provider, minute) {
    let buckets = state.history.get(provider);
    if (!buckets) {
      buckets = new Map();
      state.history.set(provider, buckets);
    }
    let b = buckets.get(minute);
    if (!b) {
      b = { tokens: 0, requests: 0, failures: 0 };
      buckets.set(minute, b);
    }
    return b;
  }

  /** Keeps the charts moving between report refreshes; the next report replaces these estimates. */
  function noteUsage(event) {
    if (!event.provider || !state.reportFetchedAt) return;
    const at = parseTime(event.time) ?? serverNow();
    if (event.type === 'usage_committed') {
      const b = bucket(event.provider, minuteOf(at));
      b.tokens += event.total_tokens ?? ((event.prompt_tokens || 0) + (event.completion_tokens || 0) || event.tokens || 0);
      b.requests += 1;
      scheduleTrend(event.provider);
    } else if (event.type === 'key_failed') {
      bucket(event.provider, minuteOf(at)).failures += 1;
      scheduleTrend(event.provider);
    }
  }

  async function refreshReport() {
    try {
      const report = await fetchReport();
      if (!state.token) return;
      state.reportFetchedAt = Date.now();
      state.history.clear();
      for (const row of (report && report.history) || []) {
        const minute = parseTime(row.minute);
        if (minute === null || !row.provider) continue;
        const b = bucket(row.provider, minuteOf(minute));
        b.tokens += row.total_tokens ?? ((row.prompt_tokens || 0) + (row.completion_tokens || 0));
        b.requests += row.requests || 0;
        b.failures += row.failures || 0;
      }
      if (state.status) renderSections(providerEntries(state.status));
    } catch (e) {
      if (e instanceof AuthError) onAuthLost();
      else state.reportFetchedAt = state.reportFetchedAt || Date.now();
    }
  }

  const pendingTrends = new Set();
  /** Coalesces chart redraws to one per frame however many events arrive. */
  function scheduleTrend(provider) {
    if (pendingTrends.size === 0) {
      requestAnimationFrame(() => {
        // A provider's first traffic may need a section that does not exist yet.
        const missing = [...pendingTrends].some((p) => !state.sections.has(p));
        for (const p of pendingTrends) renderTrend(p);
        pendingTrends.clear();
        if (missing && state.status) renderSections(providerEntries(state.status));
      });
    }
    pendingTrends.add(provider);
  }

  const CHART_W = 600;
  const CHART_H = 120;

  function createTrendChart(provider) {
    const plot = svg('svg', {
      class: 'trend-svg', viewBox: `0 0 ${CHART_W} ${CHART_H}`, preserveAspectRatio: 'none', role: 'img', focusable: 'false',
    });
    const peak = el('span', { class: 'trend-peak' });
    const total = el('span', { class: 'trend-total' });
    const root = el('figure', { class: 'trend', 'data-testid': `trend-chart-${provider}` },
      el('figcaption', { class: 'trend-caption' },
        el('span', { class: 'trend-title' }, `${unitOf(provider) === 'searches' ? 'Searches' : 'Tokens'} per minute, last hour`),
        total),
      el('div', { class: 'trend-plot' }, plot, peak),
      el('div', { class: 'trend-axis', 'aria-hidden': 'true' }, el('span', null, '60 min ago'), el('span', null, '30 min'), el('span', null, 'now')));
    return { root, plot, peak, total };
  }

  function renderTrend(provider) {
    const entry = state.sections.get(provider);
    if (!entry) return;
    const chart = entry.refs.chart;
    const buckets = state.history.get(provider) || new Map();
    const nowMinute = minuteOf(serverNow());
    const series = [];
    for (let i = TREND_MINUTES - 1; i >= 0; i--) {
      const minute = nowMinute - i * 60000;
      series.push([minute, buckets.get(minute) || { tokens: 0, requests: 0, failures: 0 }]);
    }
    const peakValue = Math.max(0, ...series.map(([, b]) => b.tokens));
    const sum = series.reduce((acc, [, b]) => acc + b.tokens, 0);
    const requests = series.reduce((acc, [, b]) => acc + b.requests, 0);
    const failures = series.reduce((acc, [, b]) => acc + b.failures, 0);
    const unit = unitOf(provider);
    const scale = peakValue > 0 ? peakValue : 1;
    const slot = CHART_W / TREND_MINUTES;

    const nodes = [
      svg('line', { class: 'trend-grid', x1: 0, x2: CHART_W, y1: CHART_H / 2, y2: CHART_H / 2, 'vector-effect': 'non-scaling-stroke' }),
      svg('line', { class: 'trend-baseline', x1: 0, x2: CHART_W, y1: CHART_H - 0.5, y2: CHART_H - 0.5, 'vector-effect': 'non-scaling-stroke' }),
    ];
    series.forEach(([minute, b], i) => {
      const height = b.tokens > 0 ? Math.max(2, (b.tokens / scale) * (CHART_H - 24)) : 0;
      const group = svg('g', { class: 'trend-slot' });
      const hit = svg('rect', { class: 'trend-hit', x: i * slot, y: 0, width: slot, height: CHART_H });
      const bar = svg('rect', { class: 'trend-bar', x: i * slot + slot * 0.15, y: CHART_H - height, width: slot * 0.7, height });
      const title = svg('title');
      title.textContent = `${minuteFormat.format(new Date(minute))}: ${formatInt(b.tokens)} ${unit}, ${formatInt(b.requests)} requests, ${formatInt(b.failures)} failures`;
      group.append(title, hit, bar);
      if (b.failures > 0) group.append(svg('rect', { class: 'trend-failure', x: i * slot + slot * 0.15, y: CHART_H - 4, width: slot * 0.7, height: 4 }));
      nodes.push(group);
    });
    chart.plot.replaceChildren(...nodes);
    chart.root.classList.toggle('empty', peakValue === 0);
    chart.plot.setAttribute('aria-label',
      `${providerName(provider)} ${unit} per minute over the last hour: ${formatInt(sum)} in total, peak ${formatInt(peakValue)} per minute, ${formatInt(failures)} failures.`);
    setText(chart.peak, peakValue > 0 ? `peak ${formatCompact(peakValue)}/min` : 'No traffic in the last hour');
    setText(chart.total, `${formatCompact(sum)} ${unit} · ${formatInt(requests)} req${failures ? ` · ${formatInt(failures)} failed` : ''}`);
  }

  // ---------------------------------------------------------------- clock

  function tick() {
    for (const entry of state.rows.values()) updateCountdown(entry);
    const minute = minuteOf(serverNow());
    if (minute !== state.lastTrendMinute) {
      state.lastTrendMinute = minute;
      for (const provider of state.sections.keys()) renderTrend(provider);
    }
    const refreshEvery = state.streamLive ? REPORT_REFRESH_LIVE_MS : REPORT_REFRESH_POLLING_MS;
    if (state.reportFetchedAt && Date.now() - state.reportFetchedAt > refreshEvery) {
      state.reportFetchedAt = Date.now();
      refreshReport();
    }
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token-input').value.trim();
      if (!token) {
        showLogin('Enter the admin token.');
        return;
      }
      signIn(token, false);
    });
    $('logout').addEventListener('click', () => signOut(null));
    $('reset-all').addEventListener('click', () => resetKeys(null, 'all keys'));
    $('reload-env').addEventListener('click', () => reloadEnv());
    $('show-request-events').addEventListener('change', renderFeed);
    const dialog = $('deactivate-dialog');
    dialog.addEventListener('close', () => {
      const target = pendingDeactivation;
      pendingDeactivation = null;
      if (dialog.returnValue === 'confirm' && target) deactivate(target, $('deactivate-reason').value.trim());
    });

    const saved = sessionStorage.getItem(TOKEN_STORAGE_KEY);
    if (saved) signIn(saved, true);
    else showLogin(null);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
