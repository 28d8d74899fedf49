// What the serving API tells the app about itself: a <meta name="sl-config"> that platform_api/web.py writes
// into index.html (no inline script: the CSP forbids it). Without it (`npm run dev`) every option is shown.
const DEFAULTS = { devSignIn: true, googleSignIn: true, payments: 'dev' }

export function readConfig(doc = globalThis.document) {
  const content = doc?.querySelector('meta[name="sl-config"]')?.getAttribute('content')
  if (!content) return { ...DEFAULTS }
  try {
    return { ...DEFAULTS, ...JSON.parse(content) }
  } catch {
    return { ...DEFAULTS }
  }
}
