// A browser app on its own origin using the official SDK as apps do (bundled by esbuild): one
// page that makes `window.stack` (a StackClientApp) and, on `/handler/oauth-callback`, completes
// an OAuth sign-in. `host`: the name the app is reached by (WebAuthn wants a domain);
// `project`: whose keys it uses (the server's first project by default); `options`: more of the
// app's options (analytics…). The page has a button to click.
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { build } from 'esbuild';

export async function startSdkApp(gh, { urls = {}, host = '127.0.0.1', project = gh.project, options: more = {} } = {}) {
  const bundle = await build({
    stdin: { contents: "import { StackClientApp } from 'stack-current'; window.StackClientApp = StackClientApp;", resolveDir: resolve(import.meta.dirname, '..') },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const sdk = bundle.outputFiles[0].text;
  const options = JSON.stringify({
    projectId: project.project_id,
    publishableClientKey: project.publishable_client_key,
    baseUrl: gh.baseUrl,
    tokenStore: 'cookie',
    urls,
    ...more,
  });
  const html = `<!doctype html><html><head><title>App</title><script src="/sdk.js"></script></head><body>
<h1>The app</h1><button id="buy" type="button">Buy now</button>
<script>
  window.stack = new StackClientApp(${options});
  if (location.pathname === '/handler/oauth-callback') {
    window.stack.callOAuthCallback();
  }
  window.ready = true;
</script></body></html>`;
  const server = createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(sdk);
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://${host}:${server.address().port}`, stop: () => new Promise((ok) => server.close(ok)) };
}
