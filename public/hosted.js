// The hosted pages' one script, for what needs a browser: passkeys (WebAuthn, with autofill
// where the browser offers it), showing a password as it is typed and how strong a new one is,
// and copy buttons (the TOTP key). The pages are plain forms without it; each part below only
// adds to them.
import './copy.js';

const toBytes = (text) => {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
};
const toText = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)))
  .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

// A credential as JSON, with every binary field in base64url.
function credentialJson(cred) {
  const r = cred.response;
  const response = { clientDataJSON: toText(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toText(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toText(r.authenticatorData);
    response.signature = toText(r.signature);
    if (r.userHandle) response.userHandle = toText(r.userHandle);
  }
  return { id: cred.id, rawId: toText(cred.rawId), type: cred.type, response, clientExtensionResults: cred.getClientExtensionResults() };
}

// A server function of the hosted pages (a fixed endpoint): its JSON answer, or its message.
async function call(endpoint, fields) {
  const res = await fetch(`/_sfn/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(fields),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(text.replace(/^[A-Za-z]+\|/, '') || `Error ${res.status}`);
  return text ? JSON.parse(text) : null;
}

function showError(box, error) {
  const el = box.querySelector('[data-passkey-error]');
  if (!el) return;
  el.textContent = error.name === 'NotAllowedError'
    ? 'The passkey was not used (cancelled, or no passkey for this site on this device).'
    : error.message;
  el.hidden = false;
}

// Copy buttons wait hidden for this script (copy.js does the copying).
for (const button of document.querySelectorAll('button[data-copy][hidden]')) button.hidden = false;

// Sign in with a passkey: the button, and the browser's autofill (conditional UI) beside it.
const signInBox = document.querySelector('[data-passkey-sign-in]');
if (signInBox && window.PublicKeyCredential) {
  const { project, returnTo } = signInBox.dataset;
  let pending = null;
  const signIn = async (mediation) => {
    pending?.abort();
    const controller = new AbortController();
    pending = controller;
    const { options_json: o, code } = JSON.parse(await call('passkey-sign-in-options', { project_id: project }));
    o.rpId = location.hostname;
    const publicKey = { ...o, challenge: toBytes(o.challenge), allowCredentials: (o.allowCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id) })) };
    const cred = await navigator.credentials.get({ publicKey, mediation, signal: controller.signal });
    const next = await call('passkey-sign-in', { project_id: project, response: JSON.stringify(credentialJson(cred)), code, after_auth_return_to: returnTo ?? '' });
    location.assign(next);
  };
  const button = signInBox.querySelector('button');
  button.hidden = false;
  button.addEventListener('click', () => signIn('optional').catch((e) => { if (e.name !== 'AbortError') showError(signInBox, e); }));
  PublicKeyCredential.isConditionalMediationAvailable?.().then((yes) => {
    if (yes) signIn('conditional').catch(() => {});
  });
}

// Add a passkey (account settings).
const registerBox = document.querySelector('[data-passkey-register]');
if (registerBox && window.PublicKeyCredential) {
  const { project } = registerBox.dataset;
  const button = registerBox.querySelector('button');
  button.hidden = false;
  button.addEventListener('click', async () => {
    try {
      const { options_json: o, code } = JSON.parse(await call('passkey-registration-options', { project_id: project }));
      o.rp.id = location.hostname;
      const publicKey = {
        ...o,
        challenge: toBytes(o.challenge),
        user: { ...o.user, id: toBytes(o.user.id) },
        excludeCredentials: (o.excludeCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id) })),
      };
      const cred = await navigator.credentials.create({ publicKey });
      await call('passkey-register', { project_id: project, credential: JSON.stringify(credentialJson(cred)), code });
      location.assign(`${location.pathname}?done=passkey#passkeys-heading`);
    } catch (e) {
      showError(registerBox, e);
    }
  });
}

// Show or hide a password as it is typed.
for (const input of document.querySelectorAll('input[type="password"]')) {
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'password-toggle self-start text-xs font-semibold text-accent';
  toggle.textContent = 'Show password';
  toggle.addEventListener('click', () => {
    const shown = input.type === 'text';
    input.type = shown ? 'password' : 'text';
    toggle.textContent = shown ? 'Show password' : 'Hide password';
  });
  input.after(toggle);
}

// How strong a new password is, as it is typed (the server checks the rules either way).
for (const input of document.querySelectorAll('input[autocomplete="new-password"]')) {
  const min = Number(input.dataset.min ?? 8);
  const hint = document.createElement('span');
  hint.className = 'password-strength text-xs font-normal text-muted';
  hint.setAttribute('aria-live', 'polite');
  input.after(hint);
  input.addEventListener('input', () => {
    const pw = input.value;
    const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(pw)).length;
    const score = pw.length < min ? 0 : (pw.length >= 16 ? 2 : 0) + (pw.length >= 12 ? 1 : 0) + (kinds >= 3 ? 1 : 0);
    hint.textContent = pw.length === 0 ? ''
      : pw.length < min ? `${min - pw.length} more character${min - pw.length === 1 ? '' : 's'} needed.`
        : ['Weak: longer is stronger.', 'Fair.', 'Good.', 'Strong.'][Math.min(score, 3)];
    hint.dataset.score = String(score);
  });
}

// The sign-up's check against bots, where the project asks for one: solved by pow.js.
const puzzle = document.querySelector('[data-pow-challenge]');
if (puzzle) import('./pow.js').then(({ solve }) => solve(puzzle));

// The checkout's card form (a project connected to Stripe): Stripe.js's card fields save the
// card (a SetupIntent), the server charges it, and Stripe.js asks the buyer to confirm when the
// bank wants that.
const stripeBox = document.querySelector('[data-stripe-checkout]');
if (stripeBox) {
  const { publishableKey, stripeJs, code, returnUrl } = stripeBox.dataset;
  const script = document.createElement('script');
  script.src = stripeJs;
  script.addEventListener('load', () => {
    const stripe = window.Stripe(publishableKey);
    const card = stripe.elements().create('card');
    card.mount(stripeBox.querySelector('[data-card]'));
    stripeBox.querySelector('[data-needs-js]').hidden = true;
    const error = stripeBox.querySelector('[data-stripe-error]');
    const button = stripeBox.querySelector('button');
    button.hidden = false;
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Paying…';
      error.hidden = true;
      try {
        const fields = new FormData(stripeBox.closest('form'));
        const setupSecret = await call('checkout-card', { full_code: code });
        const saved = await stripe.confirmCardSetup(setupSecret, { payment_method: { card } });
        if (saved.error) throw new Error(saved.error.message ?? 'The card was not accepted.');
        const paid = await call('checkout-charge', {
          full_code: code,
          setup_intent_id: saved.setupIntent.id,
          price_id: fields.get('price_id') ?? '',
          quantity: fields.get('quantity') ?? '',
          return_url: returnUrl ?? '',
        });
        if (!paid.succeeded) {
          const confirmed = await stripe.confirmCardPayment(paid.client_secret);
          if (confirmed.error) throw new Error(confirmed.error.message ?? 'The payment was not confirmed.');
        }
        location.assign(paid.next);
      } catch (e) {
        error.textContent = e.message;
        error.hidden = false;
        button.disabled = false;
        button.textContent = 'Pay';
      }
    });
  });
  document.head.append(script);
}
