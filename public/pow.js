// The sign-up's proof of work (`security.botChallenge.mode` = `proofOfWork`): find a nonce
// that makes SHA-256("<challenge>.<nonce>") start with the asked number of zero bits, the
// check the server makes. Loaded by hosted.js only on a page that carries a challenge.
const K = Uint32Array.of(
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2);
const W = new Uint32Array(64);
function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  const blocks = Math.ceil((bytes.length + 9) / 64);
  const m = new Uint8Array(blocks * 64);
  m.set(bytes);
  m[bytes.length] = 0x80;
  new DataView(m.buffer).setUint32(m.length - 4, bytes.length * 8);
  const h = Uint32Array.of(0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19);
  const view = new DataView(m.buffer);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) W[i] = view.getUint32(b * 64 + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(W[i - 15], 7) ^ rotr(W[i - 15], 18) ^ (W[i - 15] >>> 3);
      const s1 = rotr(W[i - 2], 17) ^ rotr(W[i - 2], 19) ^ (W[i - 2] >>> 10);
      W[i] = W[i - 16] + s0 + W[i - 7] + s1;
    }
    let [a, bb, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  return h;
}
// Leading zero bits of the hash's words.
function zeroBits(h) {
  let n = 0;
  for (const w of h) { if (w) return n + Math.clz32(w); n += 32; }
  return n;
}

// Solves the page's challenge in slices (the page stays responsive), fills the form's hidden
// field, and lets the form be sent.
export async function solve(box) {
  const { powChallenge: challenge, powBits } = box.dataset;
  const bits = Number(powBits);
  const form = box.closest('form');
  const button = form.querySelector('button[type="submit"]');
  const field = form.querySelector('input[name="bot_challenge_token"]');
  const status = box.querySelector('[data-pow-status]');
  button.disabled = true;
  if (status) status.textContent = 'Checking your browser against bots…';
  let nonce = 0;
  for (;;) {
    const stop = nonce + 20000;
    for (; nonce < stop; nonce++) {
      if (zeroBits(sha256(`${challenge}.${nonce}`)) >= bits) {
        field.value = `${challenge}.${nonce}`;
        button.disabled = false;
        if (status) status.textContent = 'Your browser passed the check against bots.';
        box.dataset.powSolved = 'true';
        return;
      }
    }
    await new Promise((ok) => setTimeout(ok, 0));
  }
}
